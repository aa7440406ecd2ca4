import CDCCapture
import CDCCore
import CDCSQLite
import CDCTestSupport
import CDCTransport
import Foundation
import XCTest

final class ChangeTableCaptureTests: XCTestCase {
    /// A writer on another thread keeps committing while the initial snapshot epoch runs;
    /// replaying every event afterwards must give exactly the source table: nothing missed or
    /// doubled at the boundary between snapshot and stream.
    func testSnapshotBoundaryWhileServiceKeepsWriting() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let setup = try makeDatabase(at: path, sql: "CREATE TABLE acct(id INTEGER PRIMARY KEY, balance INTEGER, note BLOB);")
        try setup.transaction {
            let insert = try setup.prepare("INSERT INTO acct VALUES (?, ?, ?)")
            for i in 1...4000 { try insert.run([.integer(Int64(i)), .integer(Int64(i * 10)), .blob([UInt8(i & 0xFF)])]) }
        }
        try ChangeTableInstaller(connection: setup, logger: .silent).install(tables: nil)
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        // Small batches: many durable appends, so the writer gets in between them.
        let capture = try ChangeTableCapture(sourcePath: path, log: log, service: nil, logger: .silent, batchSize: 40)

        let writer = BackgroundWriter(path: path)
        writer.start()
        while writer.commits < 20 { usleep(1000) }
        let commitsBefore = writer.commits
        try capture.captureAvailable()
        let commitsDuring = writer.commits - commitsBefore
        writer.stop()
        XCTAssertNil(writer.failure)
        XCTAssertGreaterThan(commitsDuring, 0, "the writer must commit while the snapshot runs")
        try capture.captureAvailable()

        let events = try readAll(log)
        XCTAssertEqual(events.first?.typeName, "snapshot_start")
        XCTAssertEqual(events.filter { $0.typeName == "snapshot_end" }.count, 1)
        var replica = TestReplica()
        replica.apply(events)
        let source = try sourceContents(setup, table: "acct")
        XCTAssertEqual(replica.contents(of: "acct").count, source.count)
        XCTAssertTrue(replica.contents(of: "acct") == source, "replica differs from the source")
        // Row versions only grow per key.
        var lastVersion: [[SQLiteValue]: Int64] = [:]
        for e in events {
            guard let c = e.change else { continue }
            XCTAssertGreaterThan(e.lsn.rawValue, lastVersion[c.key] ?? 0)
            lastVersion[c.key] = e.lsn.rawValue
        }
        XCTAssertEqual(try setup.scalar("SELECT count(*) FROM _cdc_changes WHERE seq < (SELECT max(seq) FROM _cdc_changes)"), .integer(0))
    }

    /// A crash after the append but before the delete: on restart the agent deletes the rows
    /// the log already covers and emits nothing twice.
    func testRestartAfterAppendBeforeDeleteEmitsNoDuplicates() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);")
        try ChangeTableInstaller(connection: c, logger: .silent).install(tables: nil)
        let logPath = tmp.path("events.db")
        var log = try EventLog(path: logPath, create: true)
        var capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()
        try c.execute("INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b'); UPDATE t SET v = 'c' WHERE id = 1;")
        // Keep the change rows aside (as a crash before the delete would), then capture.
        let pending = try c.query("SELECT * FROM _cdc_changes ORDER BY seq")
        XCTAssertEqual(pending.count, 3)
        XCTAssertEqual(try capture.captureAvailable(), 3)
        try capture.close()
        try log.close()
        let placeholders = Array(repeating: "?", count: pending[0].count).joined(separator: ", ")
        for row in pending { try c.execute("INSERT OR IGNORE INTO _cdc_changes VALUES (\(placeholders))", row) }

        log = try EventLog(path: logPath, create: true)
        capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        XCTAssertEqual(try capture.captureAvailable(), 0, "rows already in the log are not emitted again")
        XCTAssertEqual(try c.scalar("SELECT count(*) FROM _cdc_changes WHERE seq < (SELECT max(seq) FROM _cdc_changes)"), .integer(0))
        try c.execute("DELETE FROM t WHERE id = 2")
        XCTAssertEqual(try capture.captureAvailable(), 1)
        let events = try readAll(log)
        XCTAssertEqual(events.compactMap { $0.change?.operation }, [.insert, .insert, .update, .delete])
        XCTAssertEqual(events.map(\.lsn.rawValue), Array(1...Int64(events.count)))
    }

    /// A reinstall (new install id) means changes may have been lost: the agent runs a resync
    /// epoch.
    func testReinstallRunsResyncEpoch() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');")
        let installer = ChangeTableInstaller(connection: c, logger: .silent)
        try installer.install(tables: nil)
        let logPath = tmp.path("events.db")
        var log = try EventLog(path: logPath, create: true)
        var capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()
        try capture.close(); try log.close()
        try installer.uninstall()
        try c.execute("INSERT INTO t VALUES (2, 'lost')")
        try installer.install(tables: nil)
        log = try EventLog(path: logPath, create: true)
        capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()
        let markers = try readAll(log).compactMap { e -> String? in
            if case .snapshotStart(let epoch) = e.body { return epoch.reason }
            return nil
        }
        XCTAssertEqual(markers, ["initial", "resync"])
        var replica = TestReplica()
        replica.apply(try readAll(log))
        XCTAssertTrue(replica.contents(of: "t") == (try sourceContents(c, table: "t")))
    }

    /// ALTER TABLE ADD COLUMN while changes wait: rows recorded by the old trigger generation
    /// are completed (never emitted with a column missing), and the triggers are rebuilt.
    func testAddColumnMidStreamCompletesOldGenerationRows() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');")
        try ChangeTableInstaller(connection: c, logger: .silent).install(tables: nil)
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()
        try c.execute("INSERT INTO t VALUES (2, 'before alter')")
        try c.execute("ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7")
        // Recorded by the old triggers, which do not know w.
        try c.execute("INSERT INTO t VALUES (3, 'after alter', 30)")
        try c.execute("INSERT INTO t VALUES (4, 'gone', 40); DELETE FROM t WHERE id = 4")
        try capture.captureAvailable()
        // The triggers now record w.
        try c.execute("UPDATE t SET w = 99 WHERE id = 1")
        try capture.captureAvailable()

        let changes = try readAll(log).compactMap(\.change).filter { $0.operation != .snapshot }
        XCTAssertEqual(changes.count, 5)
        for change in changes {
            XCTAssertEqual(change.table.columnNames, ["id", "v", "w"])
            XCTAssertEqual(change.table.version, 2)
            XCTAssertEqual(change.after?.count ?? 3, 3)
            XCTAssertEqual(change.before?.count ?? 3, 3)
        }
        XCTAssertEqual(changes[0].after, [.integer(2), .string("before alter"), .integer(7)])
        XCTAssertEqual(changes[1].after, [.integer(3), .string("after alter"), .integer(30)], "completed by re-reading the row")
        XCTAssertEqual(changes[2].operation, .insert)
        XCTAssertEqual(changes[3].operation, .delete)
        XCTAssertEqual(changes[4].before, [.integer(1), .string("a"), .integer(7)])
        XCTAssertEqual(changes[4].after, [.integer(1), .string("a"), .integer(99)])
        let triggers = try c.query("SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name").compactMap { $0[0].stringValue }
        XCTAssertEqual(triggers, ["_cdc_2_del_1", "_cdc_2_ins_1", "_cdc_2_upd_1"])
        var replica = TestReplica()
        replica.apply(try readAll(log))
        XCTAssertTrue(replica.contents(of: "t") == (try sourceContents(c, table: "t")))
    }

    /// A table dropped and created again loses its triggers: the agent rebuilds them and runs
    /// a resync epoch of that table; a dropped table stops being captured.
    func testRecreatedTableIsResyncedAndDroppedTableIsLeft() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v); CREATE TABLE u(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1, 1);")
        try ChangeTableInstaller(connection: c, logger: .silent).install(tables: nil)
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()
        try c.execute("DROP TABLE t; CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (5, 'unrecorded'); DROP TABLE u;")
        try capture.captureAvailable()
        let events = try readAll(log)
        let reasons = events.compactMap { e -> [String]? in
            if case .snapshotStart(let epoch) = e.body { return [epoch.reason] + epoch.tables }
            return nil
        }
        XCTAssertEqual(reasons, [["initial", "t", "u"], ["resync", "t"]])
        var replica = TestReplica()
        replica.apply(events)
        XCTAssertTrue(replica.contents(of: "t") == (try sourceContents(c, table: "t")))
        try c.execute("INSERT INTO t VALUES (6, 'recorded')")
        XCTAssertEqual(try capture.captureAvailable(), 1)
    }

    /// A sink's snapshot request is served by a `requested` epoch of the named tables, read
    /// at the capture position: every change committed before it, of every table (the
    /// epoch's too: it is read in chunks, and the changes stand for the rows outside a
    /// chunk), is emitted before it.
    func testSnapshotRequestIsServed() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY); CREATE TABLE u(id INTEGER PRIMARY KEY);")
        try ChangeTableInstaller(connection: c, logger: .silent).install(tables: nil)
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()
        try c.execute("INSERT INTO t VALUES (1); INSERT INTO u VALUES (1); INSERT INTO t VALUES (2);")
        let request = try log.requestSnapshot(requester: "test", tables: ["t"])
        try capture.captureAvailable()
        let events = try readAll(log)
        guard let epoch = try log.servedEpoch(ofRequest: request) else { return XCTFail("request not served") }
        let tail = events.filter { $0.lsn.rawValue >= epoch.rawValue - 1 }
        XCTAssertEqual(tail.map(\.typeName), ["change", "snapshot_start", "change", "change", "snapshot_end"])
        let streamed = events.filter { $0.lsn < epoch && $0.change?.operation == .insert }.compactMap(\.change)
        XCTAssertEqual(streamed.map(\.table.name), ["t", "u", "t"])
        XCTAssertEqual(streamed.map(\.key), [[.integer(1)], [.integer(1)], [.integer(2)]])
        XCTAssertEqual(tail[2].change?.operation, .snapshot)
        XCTAssertEqual(try log.pendingSnapshotRequests().count, 0)
        XCTAssertEqual(try capture.captureAvailable(), 0)
    }

    /// Batches cut by the batch size keep one group open; the group closes at the end of
    /// what one read saw.
    func testGroupsSpanCutBatchesAndCloseAtTheEnd() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY);")
        try ChangeTableInstaller(connection: c, logger: .silent).install(tables: nil)
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent, batchSize: 3)
        try capture.captureAvailable()
        try c.execute("BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (3); INSERT INTO t VALUES (4); INSERT INTO t VALUES (5); INSERT INTO t VALUES (6); INSERT INTO t VALUES (7); COMMIT;")
        XCTAssertEqual(try capture.captureAvailable(), 7)
        let changes = try readAll(log).compactMap(\.change)
        XCTAssertEqual(Set(changes.map(\.transaction.id)).count, 1)
        XCTAssertEqual(changes.map(\.transaction.index), Array(0..<7))
        XCTAssertEqual(changes.map(\.transaction.isLast), [false, false, false, false, false, false, true])
    }
}

/// Commits small random changes to `acct` from its own thread and connection.
final class BackgroundWriter: @unchecked Sendable {
    let path: String
    private let lock = NSLock()
    private var stopRequested = false
    private var count = 0
    private(set) var failure: Error?
    private let done = DispatchSemaphore(value: 0)

    init(path: String) { self.path = path }

    var commits: Int { lock.lock(); defer { lock.unlock() }; return count }

    func start() {
        Thread { [self] in
            defer { done.signal() }
            do {
                let c = try Connection(path: path, busyTimeoutMilliseconds: 10_000)
                var rng = SystemRandomNumberGenerator()
                var next: Int64 = 100_000
                while true {
                    lock.lock(); let stop = stopRequested; lock.unlock()
                    if stop { break }
                    let id = Int64.random(in: 1...4000, using: &rng)
                    try c.transaction {
                        switch Int.random(in: 0..<4, using: &rng) {
                        case 0: try c.execute("DELETE FROM acct WHERE id = ?", [.integer(id)])
                        case 1:
                            next += 1
                            try c.execute("INSERT INTO acct VALUES (?, ?, NULL)", [.integer(next), .integer(next)])
                        case 2: try c.execute("UPDATE acct SET id = ? WHERE id = ?", [.integer(id + 200_000), .integer(id)])
                        default: try c.execute("UPDATE acct SET balance = balance + 1, note = x'ff' WHERE id = ?", [.integer(id)])
                        }
                    }
                    lock.lock(); count += 1; lock.unlock()
                    // A service pauses between transactions; without any pause SQLite's busy
                    // handler (sleep and retry) would starve every other writer.
                    usleep(300)
                }
                try c.close()
            } catch {
                lock.lock(); failure = error; lock.unlock()
            }
        }.start()
    }

    func stop() {
        lock.lock(); stopRequested = true; lock.unlock()
        done.wait()
    }
}
