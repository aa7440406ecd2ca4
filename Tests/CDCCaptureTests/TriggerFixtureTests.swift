import CDCCapture
import CDCCore
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// Runs every case of fixtures/triggers (made by scripts/make-trigger-fixtures.py from the
/// spec, with Python's sqlite3) through install + capture, and compares the events.
final class TriggerFixtureTests: XCTestCase {
    static let fixtures = repositoryRoot.appendingPathComponent("fixtures/triggers")

    func testEveryFixtureCase() throws {
        let cases = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).sorted()
        XCTAssertGreaterThanOrEqual(cases.count, 9, "fixtures/triggers is missing cases; run scripts/make-trigger-fixtures.py")
        for name in cases {
            try runCase(name)
        }
    }

    func runCase(_ name: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name)
        let schemaSQL = try String(contentsOf: folder.appendingPathComponent("schema.sql"), encoding: .utf8)
        let workload = try String(contentsOf: folder.appendingPathComponent("workload.sql"), encoding: .utf8)
        let expectedText = try String(contentsOf: folder.appendingPathComponent("expected.jsonl"), encoding: .utf8)
        let expected = try expectedText.split(separator: "\n").enumerated().map { i, line in
            try Event(jsonLine: Array(line.utf8), lineNumber: i + 1)
        }
        let tmp = try TemporaryFolder()
        let dbPath = tmp.path("fixture.db")
        let writer = try makeDatabase(at: dbPath, sql: schemaSQL)
        try ChangeTableInstaller(connection: writer, logger: .silent).install(tables: nil)
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try ChangeTableCapture(sourcePath: dbPath, log: log, service: "fixture", logger: .silent)
        try capture.captureAvailable()
        // One capture per source transaction, so each event group is one transaction.
        for block in workload.components(separatedBy: "\n-- txn\n") {
            do { try writer.execute(block) } catch {
                // A block ending in ROLLBACK succeeds; anything else failing is a fixture bug.
                XCTFail("\(name): workload block failed: \(error)")
            }
            try capture.captureAvailable()
        }
        let actual = try readAll(log)
        XCTAssertEqual(actual.count, expected.count, "\(name): event count")
        for (a, e) in zip(actual, expected) {
            let context = "\(name) event \(e.lsn)"
            XCTAssertEqual(a.lsn, e.lsn, context)
            XCTAssertEqual(a.typeName, e.typeName, context)
            XCTAssertEqual(a.source.mode, .triggers, context)
            XCTAssertEqual(a.source.service, "fixture", context)
            switch (a.body, e.body) {
            case let (.change(ac), .change(ec)):
                XCTAssertEqual(ac.table, ec.table, "\(context): schema")
                XCTAssertEqual(ac.operation, ec.operation, "\(context): op")
                XCTAssertEqual(ac.key, ec.key, "\(context): key")
                XCTAssertEqual(ac.before, ec.before, "\(context): before")
                XCTAssertEqual(ac.after, ec.after, "\(context): after")
                XCTAssertEqual(ac.transaction.index, ec.transaction.index, "\(context): txn.index")
                XCTAssertEqual(ac.transaction.isLast, ec.transaction.isLast, "\(context): txn.last")
                XCTAssertEqual(ac.transaction.id, a.lsn.rawValue - Int64(ac.transaction.index), "\(context): txn.id is the group's first LSN")
                XCTAssertGreaterThan(a.timestampMilliseconds, 1_600_000_000_000, "\(context): ts_ms is a UTC time in ms")
            case let (.snapshotStart(ae), .snapshotStart(ee)), let (.snapshotEnd(ae), .snapshotEnd(ee)):
                XCTAssertEqual(ae, ee, context)
            default:
                XCTFail("\(context): body kind differs")
            }
        }
        // Every value went through the JSON codec unchanged (exact storage classes).
        for a in actual {
            XCTAssertEqual(try Event(jsonLine: a.jsonLine()), a)
        }
        XCTAssertEqual(try writer.scalar("SELECT count(*) FROM _cdc_changes WHERE seq < (SELECT max(seq) FROM _cdc_changes)"), .integer(0), "\(name): consumed rows deleted but the highest")
        try capture.close()
        try log.close()
        try writer.close()
    }
}
