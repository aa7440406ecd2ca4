import CDCCore
import CDCSQLite

/// Reads a table's rows through SQLite for snapshot epochs (both capture modes).
enum TableRowReader {
    /// Streams every row of a table in the connection's current read transaction: its key
    /// (in ``TableSchema/keyNames`` order) and its full row (``TableSchema/columns`` order).
    /// - Throws: ``SQLiteError``, or `body`'s error.
    /// - Complexity: one pass over the table; memory O(one row).
    static func forEachRow(of schema: TableSchema, in connection: Connection, _ body: ([SQLiteValue], [SQLiteValue]) throws -> Void) throws {
        var columns = schema.columns.map { quoteIdentifier($0.name) }
        let rowIDAlias = schema.hasRowIDKey ? schema.rowIDKeyName : nil
        if let alias = rowIDAlias { columns.insert(alias, at: 0) }
        let statement = try connection.prepare("SELECT \(columns.joined(separator: ", ")) FROM \(quoteIdentifier(schema.name))")
        let keyIndices = schema.keyColumnIndices
        while try statement.step() {
            var row = statement.row()
            if rowIDAlias != nil {
                let rowID = row.removeFirst()
                try body([rowID], row)
            } else {
                try body(keyIndices.map { row[$0] }, row)
            }
        }
    }
}
