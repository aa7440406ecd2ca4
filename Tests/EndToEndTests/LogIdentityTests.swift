import CDCSQLite
import CDCTestSupport
import Foundation
import XCTest

/// A lost or replaced event log never lets a sink skip changes silently, and a read model the
/// sink cannot evolve can be rebuilt from a fresh snapshot epoch instead of the log's history.
final class LogIdentityTests: XCTestCase {
    private var dir: TemporaryDirectory!
    private var db: String { dir.path("svc.db") }
    private var log: String { dir.path("events.db") }
    private var source: Connection!

    override func setUpWithError() throws {
        dir = try TemporaryDirectory(prefix: "log-identity")
        source = try Connection(path: db, mode: .create)
        try source.execute("PRAGMA journal_mode=WAL")
        try source.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, status TEXT)")
        try source.execute("INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        XCTAssertEqual(try tool("cdc-agent", ["install", "--db", db]).status, 0)
    }

    @discardableResult
    private func tool(_ name: String, _ arguments: [String], timeout: Double = 60) throws -> ProcessOutput {
        try runProgram(Products.executable(name), arguments, timeoutSeconds: timeout)
    }

    private func removeLog() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: log + suffix) }
    }

    private func assertConsistent(_ replica: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let check = try tool("replica-check", ["--source", db, "--replica", replica, "--log", log])
        XCTAssertEqual(check.status, 0, check.standardOutput + check.standardError, file: file, line: line)
    }

    func testANewLogContinuesLSNsAndTheSinkCarriesOn() throws {
        let replica = dir.path("read.db")
        XCTAssertEqual(try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"]).status, 0)
        XCTAssertEqual(try tool("cdc-sink", ["--log", log, "--replica", replica]).status, 0)
        removeLog()
        try source.execute("UPDATE items SET status = 'changed' WHERE id = 2")
        try source.execute("DELETE FROM items WHERE id = 3")
        XCTAssertEqual(try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"]).status, 0)
        let events = try Connection(path: log, mode: .readOnly)
        guard case .integer(let first)? = try events.scalar("SELECT min(lsn) FROM cdc_events") else { return XCTFail("empty log") }
        XCTAssertGreaterThan(first, 5, "the new log's LSNs continue after the old log's")
        let sink = try tool("cdc-sink", ["--log", log, "--replica", replica])
        XCTAssertEqual(sink.status, 0, sink.standardError)
        XCTAssertTrue(sink.standardError.contains("new event log"), sink.standardError)
        try assertConsistent(replica)
    }

    func testAReplicaAheadOfAReplacedLogStopsAndIsRebuiltFromASnapshot() throws {
        let replica = dir.path("read.db")
        XCTAssertEqual(try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"]).status, 0)
        XCTAssertEqual(try tool("cdc-sink", ["--log", log, "--replica", replica]).status, 0)
        // Everything about the old capture is gone: the log, and the install (so its last LSN).
        XCTAssertEqual(try tool("cdc-agent", ["uninstall", "--db", db]).status, 0)
        removeLog()
        XCTAssertEqual(try tool("cdc-agent", ["install", "--db", db]).status, 0)
        try source.execute("INSERT INTO items VALUES (4, 'd')")
        XCTAssertEqual(try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"]).status, 0)
        // The second log restarted at LSN 1: the old replica is ahead and must not guess.
        try source.execute("INSERT INTO items VALUES (5, 'e')")
        XCTAssertEqual(try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"]).status, 0)

        let stale = try tool("cdc-sink", ["--log", log, "--replica", replica])
        XCTAssertEqual(stale.status, 2, stale.standardError)
        XCTAssertTrue(stale.standardError.contains("--from-snapshot"), stale.standardError)

        try assertRebuiltFromSnapshot(dir.path("rebuilt.db"))
    }

    /// A column's declared type changed by a rebuild (the triggers reinstalled after it): the
    /// read model cannot change a column's type in place, so the sink stops and says how to
    /// rebuild.
    func testASchemaChangeTheSinkCannotTakeIsRebuiltFromASnapshot() throws {
        let replica = dir.path("read.db")
        XCTAssertEqual(try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"]).status, 0)
        try source.execute("""
            BEGIN; CREATE TABLE items_new(id INTEGER PRIMARY KEY, status BLOB); INSERT INTO items_new SELECT * FROM items;
            DROP TABLE items; ALTER TABLE items_new RENAME TO items; COMMIT;
            """)
        XCTAssertEqual(try tool("cdc-agent", ["install", "--db", db]).status, 0)
        try source.execute("UPDATE items SET status = 'retyped' WHERE id = 1")
        XCTAssertEqual(try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"]).status, 0)
        let replay = try tool("cdc-sink", ["--log", log, "--replica", replica])
        XCTAssertEqual(replay.status, 1, replay.standardError)
        XCTAssertTrue(replay.standardError.contains("--from-snapshot"), replay.standardError)

        try assertRebuiltFromSnapshot(dir.path("rebuilt.db"))
    }

    /// With the agent running, a new replica starts from a fresh epoch and is consistent.
    private func assertRebuiltFromSnapshot(_ replica: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let agent = try Daemon("cdc-agent", ["run", "--db", db, "--log", log])
        defer { agent.stop() }
        let rebuilt = try tool("cdc-sink", ["--log", log, "--replica", replica, "--from-snapshot"])
        XCTAssertEqual(rebuilt.status, 0, rebuilt.standardError, file: file, line: line)
        agent.stop()
        try assertConsistent(replica, file: file, line: line)
    }
}
