import CDCCapture
import CDCCore
import CDCSQLite
import CDCTestSupport
import CDCTransport
import XCTest

/// An agent stopped (or killed) during its first snapshot epoch has written events but no
/// state; the next start runs the epoch again as "initial", not as a resync (which would
/// claim a loss of continuity). Found by the kill -9 soak.
final class InterruptedSnapshotTests: XCTestCase {
    func testAnInterruptedFirstEpochRunsAgainAsInitial() throws {
        let dir = try TemporaryDirectory(prefix: "interrupted")
        let db = dir.path("s.db")
        let source = try Connection(path: db, mode: .create)
        try source.execute("PRAGMA journal_mode=WAL")
        try source.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try source.execute("CREATE TABLE u(id INTEGER PRIMARY KEY, v TEXT)")
        try source.transaction {
            for i in 1...50 {
                try source.execute("INSERT INTO t VALUES (?, 'x')", [.integer(Int64(i))])
                try source.execute("INSERT INTO u VALUES (?, 'y')", [.integer(Int64(i))])
            }
        }
        try ChangeTableInstaller(connection: source, logger: .silent).install(tables: nil)

        let log = try EventLog(path: dir.path("e.db"), create: true)
        let first = try ChangeTableCapture(sourcePath: db, log: log, service: nil, logger: .silent, batchSize: 5)
        var checks = 0
        // stop is asked once per round and before each table: stopping before the second
        // table leaves the first table's rows appended (batches of 5) without any state.
        _ = try first.captureAvailable(until: { checks += 1; return checks > 2 })
        try first.close()
        XCTAssertGreaterThan(try log.lastLSN(), .zero, "the interrupted epoch left events")
        XCTAssertTrue(try log.agentState().isEmpty, "and no state")

        let second = try ChangeTableCapture(sourcePath: db, log: log, service: nil, logger: .silent, batchSize: 5)
        try second.captureAvailable()
        try second.close()
        let reasons = try log.read(after: .zero, limit: 10_000).compactMap { e -> String? in
            if case .snapshotStart(let epoch) = e.body { return epoch.reason }
            return nil
        }
        XCTAssertEqual(Set(reasons), ["initial"])
        XCTAssertEqual(reasons.count, 2)
    }
}

/// The same in WAL mode: an agent killed inside its first epoch (batches appended, no
/// position) runs the epoch again as "initial" when it restarts. Found by the kill -9
/// fault-injection harness (scripts/soak/kill9.py), which saw a resync instead.
final class InterruptedWALSnapshotTests: XCTestCase {
    func testAnInterruptedFirstWALEpochRunsAgainAsInitial() throws {
        let dir = try TemporaryDirectory(prefix: "interrupted-wal")
        let db = dir.path("s.db")
        let source = try Connection(path: db, mode: .create)
        try source.execute("PRAGMA journal_mode=WAL")
        try source.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try source.execute("CREATE TABLE u(id INTEGER PRIMARY KEY, v TEXT)")
        try source.transaction {
            for i in 1...50 {
                try source.execute("INSERT INTO t VALUES (?, 'x')", [.integer(Int64(i))])
                try source.execute("INSERT INTO u VALUES (?, 'y')", [.integer(Int64(i))])
            }
        }
        let log = try EventLog(path: dir.path("e.db"), create: true)
        var options = WALCapture.Options()
        options.batchSize = 5
        let first = try WALCapture(sourcePath: db, log: log, service: nil, logger: .silent, options: options)
        var checks = 0
        // stop is asked before each table: stopping before the second leaves the first
        // table's rows appended (batches of 5) without a position, as a SIGKILL would.
        _ = try first.captureAvailable(until: { checks += 1; return checks > 1 })
        try first.close()
        XCTAssertGreaterThan(try log.lastLSN(), .zero, "the interrupted epoch left events")
        XCTAssertNil(try log.agentState()["state_lsn"], "and no position")

        let second = try WALCapture(sourcePath: db, log: log, service: nil, logger: .silent, options: options)
        _ = try second.captureAvailable(until: { false })
        try second.close()
        let reasons = try log.read(after: .zero, limit: 10_000).compactMap { e -> String? in
            if case .snapshotStart(let epoch) = e.body { return epoch.reason }
            return nil
        }
        XCTAssertEqual(reasons, ["initial", "initial"])
        try source.close()
    }
}
