import CDCCore
import CDCSQLite
import CDCSinks
import Foundation
import XCTest

/// A folder under the system temporary directory, removed on deinit.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-sink-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Builds events the way the agent writes them.
enum Fixture {
    static let source = SourceInfo(service: "orders", database: "/srv/orders.db", mode: .triggers)

    /// `items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, price REAL)`.
    static let items = TableSchema(name: "items", version: 1, columns: [
        ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1),
        ColumnSchema(name: "name", declaredType: "TEXT", isNotNull: true),
        ColumnSchema(name: "qty", declaredType: "INTEGER"),
        ColumnSchema(name: "price", declaredType: "REAL"),
    ])

    static func key(of row: [SQLiteValue], in table: TableSchema) -> [SQLiteValue] {
        table.keyColumnIndices.map { row[$0] }
    }

    static func event(_ lsn: Int64, _ body: Event.Body) -> Event {
        Event(lsn: LSN(lsn), source: source, timestampMilliseconds: 1_700_000_000_000 + lsn, body: body)
    }

    static func change(_ lsn: Int64, _ op: CDCCore.Operation, _ table: TableSchema, key: [SQLiteValue], before: [SQLiteValue]?, after: [SQLiteValue]?) -> Event {
        event(lsn, .change(RowChange(transaction: TransactionInfo(id: lsn, index: 0, isLast: true), table: table, operation: op, key: key, before: before, after: after)))
    }

    static func insert(_ lsn: Int64, _ table: TableSchema, _ row: [SQLiteValue], rowID: Int64? = nil) -> Event {
        change(lsn, .insert, table, key: rowID.map { [.integer($0)] } ?? key(of: row, in: table), before: nil, after: row)
    }

    static func snapshot(_ lsn: Int64, _ table: TableSchema, _ row: [SQLiteValue], rowID: Int64? = nil) -> Event {
        change(lsn, .snapshot, table, key: rowID.map { [.integer($0)] } ?? key(of: row, in: table), before: nil, after: row)
    }

    static func update(_ lsn: Int64, _ table: TableSchema, from old: [SQLiteValue], to new: [SQLiteValue], rowID: Int64? = nil) -> Event {
        change(lsn, .update, table, key: rowID.map { [.integer($0)] } ?? key(of: old, in: table), before: old, after: new)
    }

    static func delete(_ lsn: Int64, _ table: TableSchema, _ row: [SQLiteValue], rowID: Int64? = nil) -> Event {
        change(lsn, .delete, table, key: rowID.map { [.integer($0)] } ?? key(of: row, in: table), before: row, after: nil)
    }

    static func epochStart(_ lsn: Int64, tables: [String]) -> Event {
        event(lsn, .snapshotStart(SnapshotEpoch(epoch: LSN(lsn), tables: tables, reason: "resync")))
    }

    static func epochEnd(_ lsn: Int64, epoch: Int64, tables: [String]) -> Event {
        event(lsn, .snapshotEnd(SnapshotEpoch(epoch: LSN(epoch), tables: tables, reason: "resync")))
    }

    static func item(_ id: Int64, _ name: String, qty: Int64 = 1, price: Double = 1.5) -> [SQLiteValue] {
        [.integer(id), .string(name), .integer(qty), .real(price)]
    }
}

/// Reads a replica the way a test compares it.
struct ReplicaReader {
    let connection: Connection

    init(path: String) throws { connection = try Connection(path: path, mode: .readOnly) }

    /// Every row of a table ordered by its key (rowid first for rowid tables).
    func rows(_ table: String, withRowID: Bool = false) throws -> [[SQLiteValue]] {
        let schema = try connection.tableSchema(table)
        let key = schema.keyNames.map(quoteIdentifier).joined(separator: ", ")
        let columns = (withRowID ? ["rowid"] : []) + schema.columnNames.map(quoteIdentifier)
        return try connection.query("SELECT \(columns.joined(separator: ", ")) FROM \(quoteIdentifier(table)) ORDER BY \(key)")
    }

    /// Every user table and its rows (metadata left out), for whole-state comparisons.
    func dump() throws -> [String: [[SQLiteValue]]] {
        var out: [String: [[SQLiteValue]]] = [:]
        for t in try connection.userTableNames() {
            let schema = try connection.tableSchema(t)
            out[t] = try rows(t, withRowID: schema.hasRowIDKey)
        }
        return out
    }

    /// The CREATE statement SQLite stored for a table.
    func createSQL(_ table: String) throws -> String? {
        try connection.scalar("SELECT sql FROM sqlite_schema WHERE name = ?", [.string(table)])?.stringValue
    }

    func count(_ sql: String) throws -> Int64 {
        guard case .integer(let n)? = try connection.scalar(sql) else { return -1 }
        return n
    }
}
