import CDCSQLite
import CDCTestSupport
import Foundation
import XCTest

/// Issue 4, point 5: `cdc-agent resnapshot` while the agent streams, in both capture modes,
/// with real binaries: whole-table and keyed requests while a writer keeps committing, a
/// request made while the agent is stopped, and bad input.
final class ResnapshotCommandTests: XCTestCase {
    func testRequestsWhileAWriterCommitsInChangeTableMode() throws {
        try checkRequestsWhileAWriterCommits(mode: "triggers")
    }

    func testRequestsWhileAWriterCommitsInWALMode() throws {
        try checkRequestsWhileAWriterCommits(mode: "wal")
    }

    func testARequestMadeWhileTheAgentIsStoppedIsServedAtItsNextStart() throws {
        for mode in ["triggers", "wal"] {
            let dir = try TemporaryDirectory(prefix: "resnapshot-stopped")
            let db = dir.path("svc.db"), log = dir.path("events.db"), replica = dir.path("read.db")
            let source = try makeSource(db, mode: mode)
            try run("cdc-agent", ["run", "--db", db, "--log", log, "--once", "--mode", mode])
            try run("cdc-sink", ["--log", log, "--replica", replica])
            // The replica drifts (someone wrote into it): a requested epoch repairs it.
            let drift = try Connection(path: replica, mode: .readWrite)
            try drift.execute("UPDATE items SET body = 'drifted' WHERE id = 5; INSERT INTO items VALUES (100000, 'extra')")
            try drift.close()
            try source.execute("UPDATE items SET body = 'while stopped' WHERE id = 6")

            let requested = try run("cdc-agent", ["resnapshot", "--db", db, "--log", log, "--table", "items"])
            XCTAssertEqual(requested.standardOutput, "snapshot request 1 recorded\n")
            let pending = try Connection(path: log, mode: .readOnly)
            XCTAssertEqual(try pending.scalar("SELECT served_epoch FROM cdc_snapshot_requests WHERE id = 1"), .null, mode)
            try pending.close()

            // Chunks of 7 rows: --once still reads the whole epoch, chunk after chunk.
            try run("cdc-agent", ["run", "--db", db, "--log", log, "--once", "--mode", mode, "--batch-size", "7"])
            let waited = try run("cdc-agent", ["resnapshot", "--db", db, "--log", log, "--table", "items", "--wait", "--timeout", "1s"], expect: 1)
            XCTAssertTrue(waited.standardError.contains("not served"), waited.standardError)
            let served = try Connection(path: log, mode: .readOnly)
            guard case .integer(let epoch)? = try served.scalar("SELECT served_epoch FROM cdc_snapshot_requests WHERE id = 1") else {
                return XCTFail("\(mode): request 1 not served at the next start")
            }
            XCTAssertEqual(try served.scalar("SELECT json_extract(event, '$.reason') FROM cdc_events WHERE lsn = ?", [.integer(epoch)]), .string("requested"))
            try run("cdc-sink", ["--log", log, "--replica", replica])
            try run("replica-check", ["--source", db, "--replica", replica, "--log", log])
        }
    }

    func testBadInputExitsTwoWithOneLine() throws {
        let dir = try TemporaryDirectory(prefix: "resnapshot-bad")
        let db = dir.path("svc.db"), log = dir.path("events.db")
        _ = try makeSource(db, mode: "wal", sql: "CREATE TABLE lines(order_id INTEGER NOT NULL, line INTEGER NOT NULL, qty INTEGER, PRIMARY KEY(order_id, line)) WITHOUT ROWID")
        try run("cdc-agent", ["run", "--db", db, "--log", log, "--once"])
        let cases: [([String], String)] = [
            (["--db", db, "--log", log, "--table", "nope"], "has no table nope"),
            (["--db", db, "--log", log, "--table", "items", "--keys", "{id:1}"], "is not a key"),
            (["--db", db, "--log", log, "--table", "items", "--keys", "true"], "is not a key"),
            (["--db", db, "--log", log, "--table", "lines", "--keys", "7"], "does not fit the key of lines"),
            (["--db", db, "--log", log, "--table", "lines", "--keys", "[1,2,3]"], "does not fit the key of lines"),
            (["--db", db, "--log", log, "--table", "lines", "--keys", "{\"order_id\":1}"], "does not fit the key of lines"),
            (["--db", db, "--log", log, "--table", "lines", "--table", "items", "--keys", "[1,2]"], "exactly one --table"),
            (["--db", db, "--table", "items"], "missing --log"),
            (["--db", db, "--log", dir.path("missing.db"), "--table", "items"], "no event log"),
            (["--db", db, "--log", log], "missing --table"),
        ]
        for (arguments, expected) in cases {
            let result = try runProgram(Products.executable("cdc-agent"), ["resnapshot"] + arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains(expected), "\(arguments): \(result.standardError)")
            XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError)
            XCTAssertEqual(result.standardOutput, "", "nothing recorded")
        }
        let requests = try Connection(path: log, mode: .readOnly)
        XCTAssertEqual(try requests.scalar("SELECT count(*) FROM cdc_snapshot_requests"), .integer(0), "nothing half-written")
        let help = try runProgram(Products.executable("cdc-agent"), ["resnapshot", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.standardOutput.contains("--keys K"))
    }

    // MARK: - Helpers

    private func checkRequestsWhileAWriterCommits(mode: String) throws {
        let dir = try TemporaryDirectory(prefix: "resnapshot-\(mode)")
        let db = dir.path("svc.db"), log = dir.path("events.db"), replica = dir.path("read.db")
        _ = try makeSource(db, mode: mode, rows: 3_000, sql: """
            CREATE TABLE lines(order_id INTEGER NOT NULL, line INTEGER NOT NULL, qty INTEGER, PRIMARY KEY(order_id, line)) WITHOUT ROWID;
            INSERT INTO lines VALUES (1, 1, 10), (1, 2, 20), (2, 1, 30);
            """)
        try run("cdc-agent", ["run", "--db", db, "--log", log, "--once", "--mode", mode])
        try run("cdc-sink", ["--log", log, "--replica", replica])
        // Drift in the replica that only a snapshot repairs: a changed row, an extra row.
        let drift = try Connection(path: replica, mode: .readWrite)
        try drift.execute("UPDATE items SET body = 'drifted' WHERE id = 10; INSERT INTO items VALUES (100000, 'extra'); UPDATE lines SET qty = -1 WHERE order_id = 1 AND line = 2")
        try drift.close()

        let agent = try Daemon("cdc-agent", ["run", "--db", db, "--log", log, "--mode", mode, "--batch-size", "200", "--heartbeat-interval", "0"])
        // A sink follows live, so it applies the epoch's chunks as they come, between changes.
        let follower = try Daemon("cdc-sink", ["--log", log, "--replica", replica, "--follow"])
        let writer = try Writer(path: db)
        writer.start()
        usleep(200_000)
        let whole = try run("cdc-agent", ["resnapshot", "--db", db, "--log", log, "--table", "items", "--wait", "--timeout", "60s"])
        XCTAssertTrue(whole.standardOutput.contains("served at LSN"), whole.standardOutput)
        let keyed = try run("cdc-agent", ["resnapshot", "--db", db, "--log", log, "--table", "lines",
                                          "--keys", "{\"line\":2,\"order_id\":1}", "--keys", "[9,9]", "--wait", "--timeout", "60s"])
        XCTAssertTrue(keyed.standardOutput.contains("served at LSN"), keyed.standardOutput)
        usleep(200_000)
        let commits = writer.stop()
        XCTAssertGreaterThan(commits, 10, "the writer kept committing")
        XCTAssertEqual(agent.stop(), 0)
        XCTAssertEqual(follower.stop(), 0)
        try run("cdc-agent", ["run", "--db", db, "--log", log, "--once", "--mode", mode])

        let events = try Connection(path: log, mode: .readOnly)
        guard case .integer(let epoch)? = try events.scalar("SELECT served_epoch FROM cdc_snapshot_requests WHERE id = 1"),
              case .integer(let end)? = try events.scalar("SELECT min(lsn) FROM cdc_events WHERE type = 'snapshot_end' AND lsn > ?", [.integer(epoch)]) else {
            return XCTFail("\(mode): the whole-table request has no epoch")
        }
        let rows = try events.scalar("SELECT count(*) FROM cdc_events WHERE lsn > ? AND lsn < ? AND json_extract(event, '$.op') = 'snapshot'", [.integer(epoch), .integer(end)])
        if case .integer(let n)? = rows { XCTAssertGreaterThan(n, 3_000, "\(mode): every row of items, read while the writer added more") }
        // Chunked (200 rows a chunk): the writer's changes were streamed between the chunks.
        let streamed = try events.scalar("SELECT count(*) FROM cdc_events WHERE lsn > ? AND lsn < ? AND json_extract(event, '$.op') IN ('insert', 'update', 'delete')", [.integer(epoch), .integer(end)])
        if case .integer(let n)? = streamed { XCTAssertGreaterThan(n, 0, "\(mode): changes streamed while the epoch was read") }
        try run("cdc-sink", ["--log", log, "--replica", replica])
        try run("replica-check", ["--source", db, "--replica", replica, "--log", log])
    }

    private func makeSource(_ db: String, mode: String, rows: Int = 50, sql: String = "") throws -> Connection {
        let c = try Connection(path: db, mode: .create)
        try c.execute("PRAGMA journal_mode=WAL")
        try c.setBusyTimeout(milliseconds: 5000)
        try c.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        try c.transaction {
            for i in 1...rows { try c.execute("INSERT INTO items VALUES (?, ?)", [.integer(Int64(i)), .string("row \(i)")]) }
        }
        if !sql.isEmpty { try c.execute(sql) }
        if mode == "triggers" { try run("cdc-agent", ["install", "--db", db]) }
        return c
    }

    @discardableResult
    private func run(_ program: String, _ arguments: [String], expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        let result = try runProgram(Products.executable(program), arguments, timeoutSeconds: 120)
        XCTAssertEqual(result.status, status, "\(program) \(arguments.joined(separator: " ")): \(result.standardOutput)\(result.standardError)", file: file, line: line)
        return result
    }
}

/// A service writing on its own thread until stopped: updates, inserts and deletes of
/// `items`, one small transaction at a time.
private final class Writer {
    private let connection: Connection
    private let lock = NSLock()
    private var stopping = false
    private var commits = 0
    private let done = DispatchSemaphore(value: 0)

    init(path: String) throws {
        connection = try Connection(path: path, mode: .readWrite, busyTimeoutMilliseconds: 10_000)
    }

    func start() {
        Thread.detachNewThread { [self] in
            var i: Int64 = 0
            while !lock.withLock({ stopping }) {
                i += 1
                do {
                    try connection.transaction {
                        try connection.execute("UPDATE items SET body = ? WHERE id = ?", [.string("update \(i)"), .integer(1 + (i * 37) % 3_000)])
                        try connection.execute("INSERT INTO items(body) VALUES (?)", [.string("insert \(i)")])
                        if i % 3 == 0 { try connection.execute("DELETE FROM items WHERE id = ?", [.integer(1 + (i * 101) % 3_000)]) }
                    }
                    lock.withLock { commits += 1 }
                } catch {
                    // Busy beyond the timeout: try again with the next transaction.
                }
                usleep(2_000)
            }
            done.signal()
        }
    }

    /// Stops the writer and returns how many transactions it committed.
    func stop() -> Int {
        lock.withLock { stopping = true }
        done.wait()
        return lock.withLock { commits }
    }
}
