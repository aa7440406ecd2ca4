import CDCCore
import CDCSQLite

/// A source table's rows as SQLite's own SELECT returns them, by event key (the rowid for a
/// table keyed by its rowid, else the key columns): the library's view that capture tests
/// compare the events with.
public func sourceContents(_ c: Connection, table: String) throws -> [[SQLiteValue]: [SQLiteValue]] {
    let schema = try c.tableSchema(table)
    var columns = schema.columns.map { quoteIdentifier($0.name) }
    if schema.hasRowIDKey, let alias = schema.rowIDKeyName { columns.insert(alias, at: 0) }
    var out: [[SQLiteValue]: [SQLiteValue]] = [:]
    for var row in try c.query("SELECT \(columns.joined(separator: ", ")) FROM \(quoteIdentifier(table))") {
        if schema.hasRowIDKey {
            let rowid = row.removeFirst()
            out[[rowid]] = row
        } else {
            out[schema.keyColumnIndices.map { row[$0] }] = row
        }
    }
    return out
}

/// Every user table's rows, by table name (``sourceContents(_:table:)`` for each).
public func sourceContents(_ c: Connection) throws -> [String: [[SQLiteValue]: [SQLiteValue]]] {
    var out: [String: [[SQLiteValue]: [SQLiteValue]]] = [:]
    for name in try c.userTableNames() { out[name] = try sourceContents(c, table: name) }
    return out
}
