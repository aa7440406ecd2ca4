import CDCSQLite
import CDCTestSupport
import Foundation
import XCTest

/// Issue 2, point 5: a reader behind retention gets a clear error, and the agent serves a new
/// snapshot epoch instead of anyone skipping changes.
final class RetentionGapTests: XCTestCase {
    func testASinkBehindRetentionFailsClearlyOrGetsANewSnapshotEpoch() throws {
        let dir = try TemporaryDirectory(prefix: "retention")
        let db = dir.path("svc.db"), log = dir.path("events.db"), replica = dir.path("read.db")
        let source = try Connection(path: db, mode: .create)
        try source.execute("PRAGMA journal_mode=WAL")
        try source.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        XCTAssertEqual(try runProgram(Products.executable("cdc-agent"), ["install", "--db", db]).status, 0)
        try source.transaction {
            for i in 1...400 { try source.execute("INSERT INTO items VALUES (?, ?)", [.integer(Int64(i)), .string(String(repeating: "x", count: 100))]) }
        }
        try source.execute("DELETE FROM items WHERE id % 3 = 0")

        // The agent keeps at most 8 KB of events: most of what it wrote is pruned at once.
        let once = try runProgram(Products.executable("cdc-agent"), ["run", "--db", db, "--log", log, "--once", "--retain-size", "8KB"])
        XCTAssertEqual(once.status, 0, once.standardError)

        let failed = try runProgram(Products.executable("cdc-sink"), ["--log", log, "--replica", replica])
        XCTAssertEqual(failed.status, 2)
        XCTAssertTrue(failed.standardError.contains("pruned"), failed.standardError)
        XCTAssertEqual(failed.standardError.split(separator: "\n").count, 1, failed.standardError)

        // With the agent running, the sink asks for and receives a new snapshot epoch.
        let agent = try Daemon("cdc-agent", ["run", "--db", db, "--log", log, "--retain-age", "0"])
        try source.execute("UPDATE items SET body = 'changed while the sink was away' WHERE id = 1")

        let resynced = try runProgram(Products.executable("cdc-sink"), ["--log", log, "--replica", replica, "--resnapshot-on-gap"], timeoutSeconds: 60)
        XCTAssertEqual(resynced.status, 0, resynced.standardError)
        XCTAssertEqual(agent.stop(), 0, "the agent stops cleanly on SIGTERM")

        let check = try runProgram(Products.executable("replica-check"), ["--source", db, "--replica", replica, "--log", log])
        XCTAssertEqual(check.status, 0, check.standardOutput + check.standardError)
        let read = try Connection(path: replica, mode: .readOnly)
        XCTAssertEqual(try read.scalar("SELECT count(*) FROM items"), .integer(267))
        XCTAssertEqual(try read.scalar("SELECT body FROM items WHERE id = 1"), .string("changed while the sink was away"))
    }
}
