import CDCCore
import CDCReconcile
import CDCSinks
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// A temporary folder with a source and a replica database made by the real SQLite library.
///
/// The replica starts with the sink's metadata tables (`_cdc_sink_offset`,
/// `_cdc_row_versions`), so it is a replica in replica-check's sense; tests then create the
/// same tables on both sides and make them differ on purpose.
final class CheckFixture {
    let directory: URL
    let source: Connection
    let replica: Connection

    var sourcePath: String { source.path }
    var replicaPath: String { replica.path }

    init(appliedLSN: Int64? = 0, sourceName: String = "source") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("replica-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        source = try Connection(path: directory.appendingPathComponent("source.db").path, mode: .create)
        replica = try Connection(path: directory.appendingPathComponent("replica.db").path, mode: .create)
        try replica.execute("""
            CREATE TABLE _cdc_sink_offset(source TEXT PRIMARY KEY, lsn INTEGER NOT NULL, updated_ms INTEGER);
            CREATE TABLE _cdc_row_versions(tbl TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY(tbl, key)) WITHOUT ROWID;
            """)
        if let appliedLSN {
            try replica.execute("INSERT INTO _cdc_sink_offset(source, lsn) VALUES (?, ?)", [.string(sourceName), .integer(appliedLSN)])
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs SQL on both databases (schema and common rows).
    func both(_ sql: String) throws {
        try source.execute(sql)
        try replica.execute(sql)
    }

    /// A path in the fixture's folder.
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a file in the fixture's folder and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Runs the checker in process.
    func check(projection: Projection = .identity, logPath: String? = nil, maximumSampleKeys: Int = 5) throws -> CheckReport {
        try ReplicaChecker(sourcePath: sourcePath, replicaPath: replicaPath, projection: projection,
                           logPath: logPath, maximumSampleKeys: maximumSampleKeys).run()
    }
}

extension CheckReport {
    /// The report of one table, by source name.
    func table(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> TableReport {
        guard let t = tables.first(where: { $0.sourceTable == name }) else {
            XCTFail("no report for table \(name); have \(tables.map(\.sourceTable))", file: file, line: line)
            return TableReport(sourceTable: name, replicaTable: name, keyNames: [])
        }
        return t
    }
}

/// Asserts the counts of one table report.
func assertCounts(_ t: TableReport, missing: Int64 = 0, extra: Int64 = 0, differing: Int64 = 0,
                  file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(t.missing.count, missing, "missing in \(t.sourceTable)", file: file, line: line)
    XCTAssertEqual(t.extra.count, extra, "extra in \(t.sourceTable)", file: file, line: line)
    XCTAssertEqual(t.differing.count, differing, "differing in \(t.sourceTable)", file: file, line: line)
}

/// Makes event logs for lag tests through the real ``EventLog``.
enum CDCTransportBridge {
    /// Creates an event log whose last LSN is `lastLSN`: a real log file, with one event row
    /// at that LSN written directly (only its LSN matters to replica-check).
    static func makeLog(at path: String, lastLSN: Int64) throws -> String {
        let log = try EventLog(path: path, create: true)
        try log.close()
        let db = try Connection(path: path, mode: .readWrite)
        try db.execute("INSERT INTO cdc_events(lsn, ts_ms, type, tbl, event) VALUES (?, 0, 'heartbeat', NULL, '{}')", [.integer(lastLSN)])
        try db.close()
        return path
    }
}
