import CDCCapture
import CDCCore
import CDCReconcile
import CDCSinks
import CDCSQLite
import CDCTestSupport
import CDCTransport
import XCTest

/// REPLACE on a UNIQUE index besides the key deletes the conflicting row without firing delete
/// triggers unless the writer enables recursive_triggers (https://www.sqlite.org/lang_conflict.html).
/// Install warns about such tables; with recursive_triggers the delete is captured; without
/// it replica-check reports the row, so the loss is never silent.
final class ReplaceConflictTests: XCTestCase {
    private func run(recursiveTriggers: Bool) throws -> CheckReport {
        let dir = try TemporaryDirectory(prefix: "replace")
        let db = dir.path("svc.db"), logPath = dir.path("events.db"), replica = dir.path("read.db")
        let service = try Connection(path: db, mode: .create)
        try service.execute("PRAGMA journal_mode=WAL")
        try service.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT)")
        try service.execute("INSERT INTO users VALUES (1, 'a@example.test', 'Ada'), (2, 'b@example.test', 'Bob')")
        let report = try ChangeTableInstaller(connection: service, logger: .silent).install(tables: nil)
        XCTAssertEqual(report.replaceConflictIndexes["users"]?.count, 1, "install names the UNIQUE index that REPLACE can conflict on")

        let log = try EventLog(path: logPath, create: true)
        let capture = try ChangeTableCapture(sourcePath: db, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()

        if recursiveTriggers { try service.execute("PRAGMA recursive_triggers = ON") }
        // A new id with Ada's email: REPLACE deletes row 1 to make room.
        try service.execute("INSERT OR REPLACE INTO users VALUES (3, 'a@example.test', 'Ada again')")
        XCTAssertEqual(try service.scalar("SELECT count(*) FROM users"), .integer(2))
        try capture.captureAvailable()

        let sink = try SQLiteSink(replicaPath: replica)
        try sink.sync(from: log)
        try sink.close()
        try capture.close()
        try log.close()
        return try ReplicaChecker(sourcePath: db, replicaPath: replica, logPath: logPath).run()
    }

    func testWithRecursiveTriggersTheReplacedRowsDeleteIsCaptured() throws {
        let report = try run(recursiveTriggers: true)
        XCTAssertTrue(report.isConsistent, report.render(json: false))
    }

    func testWithoutRecursiveTriggersReplicaCheckReportsTheRow() throws {
        let report = try run(recursiveTriggers: false)
        XCTAssertFalse(report.isConsistent)
        XCTAssertEqual(report.tables.first?.extra.count, 1, report.render(json: false))
    }
}
