import CDCCore

/// One row of `sqlite_schema`: a table, index, view or trigger.
///
/// The schema table's b-tree is rooted at page 1; its rows have five columns: type, name,
/// tbl_name, rootpage, sql.
///
/// Source: SQLite, "Database File Format" §2.6 Storage Of The SQL Database Schema
/// (https://www.sqlite.org/fileformat2.html#ffschema).
public struct SchemaEntry: Hashable, Sendable {
    /// "table", "index", "view" or "trigger".
    public var type: String
    /// The object's name.
    public var name: String
    /// The table the object belongs to (its own name for a table).
    public var tableName: String
    /// The root page of its b-tree; 0 for views, triggers and virtual tables.
    public var rootPage: UInt32
    /// The CREATE statement as written, or `nil` for automatic indexes.
    public var sql: String?

    /// Makes an entry from a decoded sqlite_schema record.
    ///
    /// - Throws: ``PageDecodingError`` `.invalidSchemaRow` when the values do not have §2.6's shape.
    public init(values: [SQLiteValue]) throws {
        guard values.count >= 5, let type = values[0].stringValue, let name = values[1].stringValue,
              let table = values[2].stringValue else {
            throw PageDecodingError(.invalidSchemaRow, pageNumber: 1)
        }
        switch values[3] {
        case .integer(let root) where root >= 0 && root <= Int64(UInt32.max): rootPage = UInt32(root)
        case .null: rootPage = 0
        default: throw PageDecodingError(.invalidSchemaRow, pageNumber: 1)
        }
        self.type = type
        self.name = name
        self.tableName = table
        sql = values[4].stringValue
    }
}

extension BTreeWalker {
    /// The rows of `sqlite_schema` (the table b-tree at page 1), in rowid order.
    ///
    /// - Throws: ``PageDecodingError`` for invalid pages or rows.
    /// - Complexity: O(size of the schema table).
    public func schema() throws -> [SchemaEntry] {
        try tableRows(rootPage: 1).map { try SchemaEntry(values: $0.values) }
    }
}
