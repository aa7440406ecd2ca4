/// One column of a captured table, as `PRAGMA table_xinfo` describes it.
public struct ColumnSchema: Hashable, Sendable {
    /// The column name, exactly as declared (case kept).
    public var name: String
    /// The declared type text (may be empty: SQLite allows columns without a type).
    public var declaredType: String
    /// 1-based position in the primary key, or 0 when the column is not part of it.
    public var primaryKeyPosition: Int
    /// Whether the column was declared NOT NULL.
    public var isNotNull: Bool
    /// The DEFAULT clause's SQL text, or `nil` without one.
    public var defaultSQL: String?

    public init(name: String, declaredType: String, primaryKeyPosition: Int = 0, isNotNull: Bool = false, defaultSQL: String? = nil) {
        self.name = name
        self.declaredType = declaredType
        self.primaryKeyPosition = primaryKeyPosition
        self.isNotNull = isNotNull
        self.defaultSQL = defaultSQL
    }
}

/// The shape of one captured table at one schema version.
///
/// A table without a declared primary key is keyed by its rowid (`hasRowIDKey`); its images
/// hold the declared columns only, and the event's key holds the rowid under
/// ``rowIDKeyName``. Source: SQLite, "Rowid Tables" (https://www.sqlite.org/rowidtable.html).
public struct TableSchema: Hashable, Sendable {
    /// The table name, exactly as declared.
    public var name: String
    /// Grows by one on each schema change the agent sees for this table; starts at 1.
    public var version: Int64
    /// Columns in declaration order (generated columns excluded: they are derived).
    public var columns: [ColumnSchema]
    /// Whether the table was declared WITHOUT ROWID.
    public var isWithoutRowID: Bool

    public init(name: String, version: Int64, columns: [ColumnSchema], isWithoutRowID: Bool = false) {
        self.name = name
        self.version = version
        self.columns = columns
        self.isWithoutRowID = isWithoutRowID
    }

    /// Indices into ``columns`` of the primary-key columns, in key order; empty for a table
    /// keyed by its rowid.
    public var keyColumnIndices: [Int] {
        columns.indices
            .filter { columns[$0].primaryKeyPosition > 0 }
            .sorted { columns[$0].primaryKeyPosition < columns[$1].primaryKeyPosition }
    }

    /// Whether the key is the rowid (no declared primary key).
    public var hasRowIDKey: Bool { keyColumnIndices.isEmpty }

    /// The name under which a rowid key appears in events and SQL: the first of SQLite's
    /// three rowid aliases (`rowid`, `_rowid_`, `oid`) that no column shadows, or `nil` when
    /// every alias is a column name (SQLite itself cannot address the rowid then).
    public var rowIDKeyName: String? {
        let taken = Set(columns.map { $0.name.lowercased() })
        return ["rowid", "_rowid_", "oid"].first { !taken.contains($0) }
    }

    /// Names of the key fields in key order: key column names, or the rowid alias.
    public var keyNames: [String] {
        if hasRowIDKey { return rowIDKeyName.map { [$0] } ?? [] }
        return keyColumnIndices.map { columns[$0].name }
    }

    /// The column names in declaration order.
    public var columnNames: [String] { columns.map(\.name) }

    /// Whether two schemas describe the same columns and key (ignoring version).
    public func hasSameShape(as other: TableSchema) -> Bool {
        name == other.name && columns == other.columns && isWithoutRowID == other.isWithoutRowID
    }
}
