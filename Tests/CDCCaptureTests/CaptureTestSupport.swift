import CDCTestSupport
import CDCCapture
import CDCCore
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// A temporary folder removed at the end of the test.
final class TemporaryFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-capture-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The repository root (from this file's path).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Creates a WAL-mode database from SQL text.
@discardableResult
func makeDatabase(at path: String, sql: String) throws -> Connection {
    let c = try Connection(path: path, mode: .create)
    try c.execute("PRAGMA journal_mode=WAL")
    if !sql.isEmpty { try c.execute(sql) }
    return c
}

/// Every event of a log, in LSN order.
func readAll(_ log: EventLog) throws -> [Event] {
    var out: [Event] = []
    var offset = LSN.zero
    while true {
        let batch = try log.read(after: offset, limit: 1000)
        guard let last = batch.last else { return out }
        out += batch
        offset = last.lsn
    }
}

/// The `sqlite_schema` rows as (type, name, sql) strings, sorted.
func schemaRows(_ c: Connection) throws -> [String] {
    try c.query("SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
        .map { $0.map { $0.stringValue ?? "" }.joined(separator: "|") }
}

/// A test-only replica: replays events into dictionaries by key, respecting row versions and
/// snapshot epochs, so tests can compare the result with the source tables.
struct TestReplica {
    struct Row: Equatable { var version: Int64; var values: [SQLiteValue] }
    var tables: [String: [[SQLiteValue]: Row]] = [:]
    var openEpochs: [Int64: Set<String>] = [:]

    mutating func apply(_ events: [Event]) {
        for e in events { apply(e) }
    }

    mutating func apply(_ e: Event) {
        switch e.body {
        case .heartbeat, .schema: break
        case .snapshotStart(let epoch): openEpochs[epoch.epoch.rawValue] = Set(epoch.tables)
        case .snapshotEnd(let epoch):
            // Rows older than the epoch that the epoch did not carry are gone at the source.
            for t in epoch.tables {
                tables[t] = tables[t, default: [:]].filter { $0.value.version > epoch.epoch.rawValue }
            }
            openEpochs[epoch.epoch.rawValue] = nil
        case .change(let c):
            var rows = tables[c.table.name, default: [:]]
            let version = e.lsn.rawValue
            if let existing = rows[c.key], existing.version >= version { return }
            switch c.operation {
            case .insert, .snapshot:
                rows[c.key] = Row(version: version, values: c.after ?? [])
            case .delete:
                rows[c.key] = nil
            case .update:
                let after = c.after ?? []
                let newKey = c.table.hasRowIDKey ? c.key : c.table.keyColumnIndices.map { after[$0] }
                if newKey != c.key { rows[c.key] = nil }
                rows[newKey] = Row(version: version, values: after)
            }
            tables[c.table.name] = rows
        }
    }

    /// The table as key → values.
    func contents(of table: String) -> [[SQLiteValue]: [SQLiteValue]] {
        tables[table, default: [:]].mapValues(\.values)
    }
}

/// Runs a process (through CDCTestSupport's ``runProgram``, which drains both pipes and
/// enforces a deadline) and returns its exit code, standard output and standard error.
func runProcess(_ executable: String, _ arguments: [String]) throws -> (code: Int32, out: String, err: String) {
    let r = try runProgram(executable, arguments)
    return (r.status, r.standardOutput, r.standardError)
}

/// The folder with the built executables: the test bundle's folder (on Linux the bundle
/// URL is already the products folder; on macOS it is the `.xctest` inside it).
func productsFolder(for testCase: AnyClass) -> URL {
    let bundle = Bundle(for: testCase).bundleURL
    for candidate in [bundle, bundle.deletingLastPathComponent()]
    where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("cdc-agent").path) {
        return candidate
    }
    return bundle.deletingLastPathComponent()
}
