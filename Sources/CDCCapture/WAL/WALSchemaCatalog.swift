import CDCCore
import CDCSQLite
import CDCWAL

/// One captured table as WAL capture sees it at one snapshot: where its b-tree is, its
/// schema for events, and how its records map to row images.
public struct WALTable: Hashable, Sendable {
    /// The table's schema (its `version` is assigned by ``WALSchemaVersions``).
    public var schema: TableSchema
    /// The root page of its b-tree: a table b-tree, or an index b-tree for WITHOUT ROWID.
    public var rootPage: UInt32
    /// Record field → column mapping.
    public var layout: RowImageLayout
    /// The `CREATE TABLE` text in `sqlite_schema` (what a schema change changes).
    public var sql: String
    /// Whether the b-tree's key order is SQLite's BINARY value order: always for a rowid
    /// table (rowids), and for a WITHOUT ROWID table whose key columns are all ascending and
    /// BINARY-collated. The page diff's streaming merge relies on it.
    public var hasBinaryKeyOrder: Bool = true
    /// For a WITHOUT ROWID table whose key is not BINARY ascending: the order of its key
    /// fields (DESC, NOCASE, RTRIM), which the streaming diff follows; `nil` when BINARY
    /// ascending, or when a collation is not one of SQLite's built-in ones.
    public var keyOrder: [KeyFieldOrder]?

    /// Whether this table, under the name of `previous`, is another table: its key differs
    /// (columns, rowid or not). ALTER TABLE cannot change a key, so only a drop and a create
    /// (perhaps on the same root page) or a rename over the name gives this; its rows cannot
    /// be matched by key, and it is announced as dropped and created, not altered.
    func replaces(_ previous: WALTable) -> Bool {
        previous.sql != sql && (schema.hasAnotherKey(than: previous.schema) || previous.layout.isWithoutRowID != layout.isWithoutRowID)
    }
}

extension TableSchema {
    /// Whether rows of `other` cannot be matched with rows of this schema by key: other key
    /// columns, a rowid key on one side only, or WITHOUT ROWID on one side only.
    func hasAnotherKey(than other: TableSchema) -> Bool {
        keyNames != other.keyNames || hasRowIDKey != other.hasRowIDKey || isWithoutRowID != other.isWithoutRowID
    }
}

/// Turns the `sqlite_schema` rows of a snapshot into ``WALTable``s.
///
/// SQLite itself parses the `CREATE TABLE` text: each statement is run in a private in-memory
/// database, and the table is read back with `PRAGMA table_xinfo` and `PRAGMA index_list`,
/// exactly as the change-table mode reads a live table. No SQL parser of ours, so every
/// quirk (quoted names, `INTEGER PRIMARY KEY DESC` not being a rowid alias, generated columns,
/// STRICT) comes out as SQLite sees it. Results are cached by SQL text: a transaction that
/// does not change the schema costs a dictionary lookup per table.
///
/// Captured: ordinary tables with a root page, except SQLite's own (`sqlite_%`) and this
/// project's (`_cdc_%`). Virtual tables (root page 0) have no rows in the file.
/// Source: "Database File Format" §2.6 (https://www.sqlite.org/fileformat2.html#ffschema),
/// https://www.sqlite.org/pragma.html#pragma_table_xinfo.
public final class WALSchemaCatalog {
    private let scratch: Connection
    private var cache: [String: Described] = [:]

    private struct Described {
        var schema: TableSchema
        var layout: RowImageLayout
        var hasBinaryKeyOrder: Bool
        var keyOrder: [KeyFieldOrder]?
    }

    /// - Throws: ``SQLiteError`` when the in-memory database cannot be opened.
    public init() throws {
        scratch = try Connection(path: ":memory:", mode: .create)
    }

    /// The captured tables of a snapshot's schema, in name order (bytewise).
    ///
    /// - Parameter entries: the snapshot's `sqlite_schema` rows (``BTreeWalker/schema()``).
    /// - Returns: one ``WALTable`` per captured table, with schema version 1 (the caller
    ///   assigns versions).
    /// - Throws: ``WALCaptureError/unreadableSchema`` when SQLite refuses a table's SQL.
    public func tables(from entries: [SchemaEntry]) throws -> [WALTable] {
        var out: [WALTable] = []
        for entry in entries where entry.type == "table" && entry.rootPage != 0 && Self.isCaptured(entry.name) {
            guard let sql = entry.sql else { continue }
            let d = try describe(name: entry.name, sql: sql)
            out.append(WALTable(schema: d.schema, rootPage: entry.rootPage, layout: d.layout, sql: sql,
                                hasBinaryKeyOrder: d.hasBinaryKeyOrder, keyOrder: d.keyOrder))
        }
        return out.sorted { Array($0.schema.name.utf8).lexicographicallyPrecedes(Array($1.schema.name.utf8)) }
    }

    /// Whether a table of this name is captured (not SQLite's, not ours).
    public static func isCaptured(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !lower.hasPrefix("sqlite_") && !lower.hasPrefix("_cdc_")
    }

    private func describe(name: String, sql: String) throws -> Described {
        if let hit = cache[sql], hit.schema.name == name { return hit }
        do {
            let described = try describeFresh(name: name, sql: sql)
            if cache.count > 4096 { cache.removeAll() }
            cache[sql] = described
            return described
        } catch let error as SQLiteError {
            throw WALCaptureError.unreadableSchema(table: name, reason: error.message)
        }
    }

    private func describeFresh(name: String, sql: String) throws -> Described {
        try scratch.execute("SAVEPOINT describe")
        defer { try? scratch.execute("ROLLBACK TO describe"); try? scratch.execute("RELEASE describe") }
        try scratch.execute(sql)
        let schema = try scratch.tableSchema(name)
        let info = try scratch.query("SELECT name, type, dflt_value, pk, hidden FROM pragma_table_xinfo(?)", [.string(name)])
        var columns: [RowImageLayout.Column] = []
        var keyPositions: [(position: Int64, column: Int)] = []
        var defaults: [(column: Int, declaredType: String, sql: String)] = []
        for (i, row) in info.enumerated() {
            let declaredType = row[1].stringValue ?? ""
            var storage = RowImageLayout.Column.Storage.ordinary
            if case .integer(let hidden) = row[4] {
                if hidden == 2 { storage = .virtualGenerated } else if hidden == 3 { storage = .storedGenerated }
            }
            columns.append(RowImageLayout.Column(name: row[0].stringValue ?? "", affinity: ColumnAffinity(declaredType: declaredType), storage: storage))
            if case .integer(let pk) = row[3], pk > 0 { keyPositions.append((pk, i)) }
            if let dflt = row[2].stringValue, storage == .ordinary { defaults.append((i, declaredType, dflt)) }
        }
        for (column, value) in try evaluateDefaults(defaults) { columns[column].defaultValue = value }
        let keyColumns = keyPositions.sorted { $0.position < $1.position }.map(\.column)
        var alias: Int?
        if !schema.isWithoutRowID, keyColumns.count == 1,
           columns[keyColumns[0]].name.isEmpty == false,
           (info[keyColumns[0]][1].stringValue ?? "").uppercased() == "INTEGER",
           try scratch.scalar("SELECT 1 FROM pragma_index_list(?) WHERE origin = 'pk'", [.string(name)]) == nil {
            // A single INTEGER primary key is the rowid unless SQLite had to build an index
            // for it (the `INTEGER PRIMARY KEY DESC` quirk): https://www.sqlite.org/lang_createtable.html#rowid
            alias = keyColumns[0]
        }
        let layout = RowImageLayout(columns: columns, isWithoutRowID: schema.isWithoutRowID, rowIDAliasColumn: alias, primaryKeyColumns: keyColumns)
        var binary = true
        var keyOrder: [KeyFieldOrder]?
        if schema.isWithoutRowID {
            // The primary-key index's key columns: their direction and collation.
            // Source: https://www.sqlite.org/pragma.html#pragma_index_xinfo
            let keyRows = try scratch.query("""
                SELECT x."desc", x.coll FROM pragma_index_list(?1) AS l, pragma_index_xinfo(l.name) AS x
                WHERE l.origin = 'pk' AND x.key = 1
                """, [.string(name)])
            binary = keyRows.allSatisfy { row in
                row[0] == .integer(0) && (row[1].stringValue ?? "BINARY").uppercased() == "BINARY"
            }
            if !binary {
                let orders = keyRows.map { row -> KeyFieldOrder? in
                    guard let collation = KeyFieldOrder.Collation(rawValue: (row[1].stringValue ?? "BINARY").uppercased()) else { return nil }
                    return KeyFieldOrder(descending: row[0] != .integer(0), collation: collation)
                }
                if orders.allSatisfy({ $0 != nil }) { keyOrder = orders.compactMap { $0 } }
            }
        }
        return Described(schema: schema, layout: layout, hasBinaryKeyOrder: binary, keyOrder: keyOrder)
    }

    /// The values columns get from their DEFAULT when a record is too short to hold them,
    /// with the column's affinity applied: SQLite computes them in a probe table of the same
    /// declared types (`INSERT … DEFAULT VALUES`), so the conversion is SQLite's own.
    /// A default SQLite cannot evaluate alone gives NULL: such a column (e.g. one defaulting
    /// to CURRENT_TIMESTAMP) cannot have been added by ALTER TABLE, so no record lacks it.
    private func evaluateDefaults(_ defaults: [(column: Int, declaredType: String, sql: String)]) throws -> [(Int, SQLiteValue)] {
        var out: [(Int, SQLiteValue)] = []
        for d in defaults {
            do {
                try scratch.execute("DROP TABLE IF EXISTS _cdc_default_probe")
                try scratch.execute("CREATE TABLE _cdc_default_probe(v \(d.declaredType) DEFAULT \(d.sql))")
                try scratch.execute("INSERT INTO _cdc_default_probe DEFAULT VALUES")
                out.append((d.column, try scratch.scalar("SELECT v FROM _cdc_default_probe") ?? .null))
            } catch is SQLiteError {
                out.append((d.column, .null))
            }
        }
        return out
    }
}
