import CDCCore
import CDCTestSupport
@testable import CDCWAL
import Foundation
import XCTest

/// One folder of fixtures/wal-diff/ (written by scripts/make-wal-diff-fixtures.py): a database
/// file, its WAL, and per committed transaction the row changes libsqlite3 showed.
struct WALDiffFixture {
    static let names = ["splits-512", "overflow", "freed-reuse", "create-drop", "auto-vacuum-full",
                        "auto-vacuum-incremental", "vacuum", "without-rowid",
                        "recent-sqlite"]  // written by SQLite 3.54 (apsw), the others by the system's 3.40

    /// A table as sqlite_schema and pragma table_info described it after a commit.
    struct Table {
        var root: UInt32
        var isWithoutRowID: Bool
        var primaryKeyFieldCount: Int
        /// Declared types in record order.
        var fieldTypes: [String]
        /// The INTEGER PRIMARY KEY column's index (stored as NULL in the record).
        var rowIDAlias: Int?

        var kind: DiffedTree.Kind { isWithoutRowID ? .withoutRowID(primaryKeyFieldCount: primaryKeyFieldCount) : .table }
    }

    /// One row change as the generator recorded it (column values as SELECT returned them).
    struct Change: Equatable {
        var op: String
        var key: [SQLiteValue]
        var before: [SQLiteValue]?
        var after: [SQLiteValue]?
    }

    struct Transaction {
        var label: String
        var tables: [String: Table]
        var dropped: [String]
        var changes: [String: [Change]]
    }

    let name: String
    let db: [UInt8]
    let wal: [UInt8]
    let header: WALHeader
    let read: WALReadResult
    let pageMap: WALPageMap
    let initialTables: [String: Table]
    let transactions: [Transaction]

    init(_ name: String) throws {
        self.name = name
        let folder = Products.fixturesDirectory.appendingPathComponent("wal-diff").appendingPathComponent(name)
        db = [UInt8](try Data(contentsOf: folder.appendingPathComponent("db")))
        wal = [UInt8](try Data(contentsOf: folder.appendingPathComponent("db-wal")))
        let json = try JSONParser.parse([UInt8](try Data(contentsOf: folder.appendingPathComponent("expected.json"))))
        var reader = try XCTUnwrap(try WALReader(source: wal), "\(name): no WAL header")
        header = reader.position.header
        read = try reader.readCommittedTransactions(from: wal)
        pageMap = WALPageMap(read.transactions)
        initialTables = try Self.tables(json["initial_tables"])
        guard case .array(let txns)? = json["transactions"] else { throw FixtureError("\(name): no transactions") }
        transactions = try txns.map { t in
            guard case .string(let label)? = t["label"], case .array(let dropped)? = t["dropped"],
                  case .object(let changes)? = t["changes"] else { throw FixtureError("\(name): bad transaction") }
            var byTable: [String: [Change]] = [:]
            for (table, list) in changes {
                guard case .array(let items) = list else { throw FixtureError("bad changes") }
                byTable[table] = try items.map(Self.change)
            }
            return Transaction(label: label, tables: try Self.tables(t["tables"]),
                               dropped: dropped.compactMap { if case .string(let s) = $0 { return s } else { return nil } },
                               changes: byTable)
        }
    }

    /// The snapshot before the first WAL transaction: the database file alone (a commit
    /// before every frame).
    func initialSnapshot() throws -> WALSnapshotPageSource<[UInt8], [UInt8]> {
        let size = try DatabaseFilePageSource(file: db).databaseSizeInPages
        return try WALSnapshotPageSource(file: db, wal: wal, walHeader: header, pageMap: pageMap,
                                         commit: WALPageMap.Commit(frameIndex: -1, databaseSizeInPages: size))
    }

    /// The snapshot at committed transaction `index` (0-based).
    func snapshot(at index: Int) throws -> WALSnapshotPageSource<[UInt8], [UInt8]> {
        try WALSnapshotPageSource(file: db, wal: wal, walHeader: header, pageMap: pageMap, commit: pageMap.commits[index])
    }

    /// The tables before transaction `index`.
    func tablesBefore(_ index: Int) -> [String: Table] {
        index == 0 ? initialTables : transactions[index - 1].tables
    }

    /// The trees to diff for transaction `index`: every table after it, with its root before.
    func trees(for index: Int) -> [(name: String, tree: DiffedTree, table: Table)] {
        let before = tablesBefore(index)
        return transactions[index].tables.sorted { $0.key < $1.key }.map { name, table in
            (name, DiffedTree(rootBefore: before[name]?.root, rootAfter: table.root, kind: table.kind), table)
        }
    }

    private static func tables(_ json: JSONValue?) throws -> [String: Table] {
        guard case .object(let members)? = json else { throw FixtureError("bad tables") }
        var out: [String: Table] = [:]
        for (name, t) in members {
            guard case .number(let root)? = t["root"], case .bool(let wr)? = t["without_rowid"], case .number(let k)? = t["k"],
                  case .array(let fields)? = t["fields"] else { throw FixtureError("bad table \(name)") }
            var alias: Int?
            if case .number(let a)? = t["ipk"] { alias = Int(a) }
            out[name] = Table(root: UInt32(root) ?? 0, isWithoutRowID: wr, primaryKeyFieldCount: Int(k) ?? 0,
                              fieldTypes: fields.map { if case .string(let s)? = $0["type"] { return s } else { return "" } },
                              rowIDAlias: alias)
        }
        return out
    }

    private static func change(_ json: JSONValue) throws -> Change {
        guard case .string(let op)? = json["op"], let key = json["key"] else { throw FixtureError("bad change") }
        func values(_ v: JSONValue?) throws -> [SQLiteValue]? {
            guard case .array(let items)? = v else { return nil }
            return try items.map { try SQLiteValue(json: $0) }
        }
        let keyValues: [SQLiteValue]
        if case .array(let items) = key { keyValues = try items.map { try SQLiteValue(json: $0) } } else { keyValues = [try SQLiteValue(json: key)] }
        return Change(op: op, key: keyValues, before: try values(json["before"]), after: try values(json["after"]))
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension WALDiffFixture.Table {
    /// A delta as the generator recorded changes: record values mapped to column values the
    /// way SELECT returns them (REAL affinity, the rowid in the INTEGER PRIMARY KEY column).
    func change(from delta: RowDelta) -> WALDiffFixture.Change {
        func columns(_ values: [SQLiteValue]?) -> [SQLiteValue]? {
            guard var out = values else { return nil }
            for i in out.indices where i < fieldTypes.count { out[i] = ColumnAffinity(declaredType: fieldTypes[i]).realizing(out[i]) }
            if let alias = rowIDAlias, case .rowid(let r) = delta.key, alias < out.count { out[alias] = .integer(r) }
            return out
        }
        let key: [SQLiteValue]
        switch delta.key {
        case .rowid(let r): key = [.integer(r)]
        case .fields(let f): key = f.enumerated().map { i, v in ColumnAffinity(declaredType: fieldTypes[i]).realizing(v) }
        }
        return WALDiffFixture.Change(op: delta.kind.rawValue, key: key, before: columns(delta.before), after: columns(delta.after))
    }
}
