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

extension TableRowReader {
    /// Streams one chunk of a table's rows in chunk order, for snapshot epochs read in chunks
    /// (`requested` epochs of the change-table mode).
    ///
    /// Chunk order is the rowid for rowid tables (every row has one, also where a declared
    /// key admits NULL, which a row-value comparison would skip), and the primary key for
    /// WITHOUT ROWID tables (NOT NULL by SQLite's rule), compared as row values
    /// (https://www.sqlite.org/rowvalue.html) in the columns' own collations, which is also
    /// the ORDER BY's order. A rowid table whose columns shadow every rowid alias is read
    /// in one chunk.
    ///
    /// - Parameters:
    ///   - after: the chunk position of the previous chunk's last row; `nil` for the first.
    ///   - limit: rows per chunk, at least 1.
    /// - Returns: the position of the chunk's last row when the chunk was full (more may
    ///   follow), or `nil` when the table has no rows after this chunk.
    /// - Throws: ``SQLiteError``, or `body`'s error.
    /// - Complexity: O(limit) after an index or b-tree seek; memory O(one row).
    static func forEachRow(of schema: TableSchema, in connection: Connection, after: [SQLiteValue]?, limit: Int,
                           _ body: ([SQLiteValue], [SQLiteValue]) throws -> Void) throws -> [SQLiteValue]? {
        var columns = schema.columns.map { quoteIdentifier($0.name) }
        let keyIndices = schema.keyColumnIndices
        let order: [String]
        let positionIndices: [Int]
        if !schema.isWithoutRowID, let alias = schema.rowIDKeyName {
            columns.insert(alias, at: 0)
            order = [alias]
            positionIndices = [0]
        } else if schema.isWithoutRowID {
            order = keyIndices.map { quoteIdentifier(schema.columns[$0].name) }
            positionIndices = keyIndices
        } else {
            try forEachRow(of: schema, in: connection, body)
            return nil
        }
        let hasRowID = columns.count > schema.columns.count
        let orderList = order.joined(separator: ", ")
        var sql = "SELECT \(columns.joined(separator: ", ")) FROM \(quoteIdentifier(schema.name))"
        if after != nil { sql += " WHERE (\(orderList)) > (\(order.map { _ in "?" }.joined(separator: ", ")))" }
        sql += " ORDER BY \(orderList) LIMIT \(max(1, limit))"
        let statement = try connection.prepare(sql)
        if let after { try statement.bind(after) }
        var count = 0
        var last: [SQLiteValue] = []
        while try statement.step() {
            var row = statement.row()
            last = positionIndices.map { row[$0] }
            count += 1
            if hasRowID {
                let rowID = row.removeFirst()
                try body(schema.hasRowIDKey ? [rowID] : keyIndices.map { row[$0] }, row)
            } else {
                try body(keyIndices.map { row[$0] }, row)
            }
        }
        return count >= max(1, limit) ? last : nil
    }

    /// Streams the rows of the given keys that exist, in the order given, each read by its
    /// key (`=`, so SQLite applies the key columns' affinity to the values asked for).
    /// - Parameter keys: each key's values in ``TableSchema/keyNames`` order.
    /// - Returns: how many of the keys exist.
    /// - Throws: ``SQLiteError``, or `body`'s error.
    /// - Complexity: one b-tree or index seek per key; memory O(one row).
    static func forEachRow(of schema: TableSchema, in connection: Connection, keys: [[SQLiteValue]],
                           _ body: ([SQLiteValue], [SQLiteValue]) throws -> Void) throws -> Int {
        var columns = schema.columns.map { quoteIdentifier($0.name) }
        let keyIndices = schema.keyColumnIndices
        let condition: String
        if schema.hasRowIDKey {
            guard let alias = schema.rowIDKeyName else { return 0 }
            columns.insert(alias, at: 0)
            condition = "\(alias) = ?"
        } else {
            condition = keyIndices.map { "\(quoteIdentifier(schema.columns[$0].name)) = ?" }.joined(separator: " AND ")
        }
        let statement = try connection.prepare("SELECT \(columns.joined(separator: ", ")) FROM \(quoteIdentifier(schema.name)) WHERE \(condition)")
        var found = 0
        for key in keys where key.count == schema.keyNames.count {
            statement.reset()
            try statement.bind(key)
            while try statement.step() {
                var row = statement.row()
                found += 1
                if schema.hasRowIDKey {
                    let rowID = row.removeFirst()
                    try body([rowID], row)
                } else {
                    try body(keyIndices.map { row[$0] }, row)
                }
            }
        }
        return found
    }
}
