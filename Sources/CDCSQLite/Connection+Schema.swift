import CDCCore

/// Quotes an SQL identifier: wraps it in double quotes and doubles embedded ones, so any
/// name (spaces, quotes, keywords, unicode) is safe in SQL text.
/// Source: https://www.sqlite.org/lang_keywords.html
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension Connection {
    /// Names of the ordinary tables of the main schema, in name order, leaving out SQLite's
    /// own (`sqlite_%`) and this project's (`_cdc_%`), virtual tables and shadow tables.
    public func userTableNames() throws -> [String] {
        try query("""
            SELECT name FROM pragma_table_list
            WHERE schema = 'main' AND type = 'table'
              AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cdc\\_%' ESCAPE '\\'
            ORDER BY name
            """).compactMap { $0.first?.stringValue }
    }

    /// Whether a table of that exact name exists in the main schema.
    public func tableExists(_ name: String) throws -> Bool {
        try scalar("SELECT 1 FROM pragma_table_list WHERE schema = 'main' AND name = ?", [.string(name)]) != nil
    }

    /// Reads a table's schema from `PRAGMA table_xinfo` and `PRAGMA table_list`.
    ///
    /// Generated columns are left out (they are derived from the others and cannot be
    /// written by a sink). Source: https://www.sqlite.org/pragma.html#pragma_table_xinfo
    ///
    /// - Parameters:
    ///   - name: the table name, exactly.
    ///   - version: the schema version to stamp on the result.
    /// - Throws: ``SchemaError/noSuchTable`` when missing, ``SQLiteError`` otherwise.
    public func tableSchema(_ name: String, version: Int64 = 1) throws -> TableSchema {
        guard let wr = try query("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ? AND type = 'table'", [.string(name)]).first else {
            throw SchemaError.noSuchTable(name, path: path)
        }
        let rows = try query("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?)", [.string(name)])
        var columns: [ColumnSchema] = []
        for r in rows {
            guard case .integer(let hidden) = r[5], hidden == 0 else { continue }
            var pk = 0
            if case .integer(let p) = r[4] { pk = Int(p) }
            var notNull = false
            if case .integer(let n) = r[2] { notNull = n != 0 }
            columns.append(ColumnSchema(
                name: r[0].stringValue ?? "",
                declaredType: r[1].stringValue ?? "",
                primaryKeyPosition: pk,
                isNotNull: notNull,
                defaultSQL: r[3].stringValue))
        }
        var withoutRowID = false
        if case .integer(let w) = wr[0] { withoutRowID = w != 0 }
        return TableSchema(name: name, version: version, columns: columns, isWithoutRowID: withoutRowID)
    }
}

/// Errors about tables and columns that a command was asked to use.
public enum SchemaError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The table does not exist in the database.
    case noSuchTable(String, path: String)
    /// The table has no key SQLite lets us address (every rowid alias is a column name and
    /// there is no primary key).
    case noAddressableKey(String)

    public var description: String {
        switch self {
        case .noSuchTable(let t, let path): return "\(path): no table named \(quoteIdentifier(t)); check --tables (names are case-sensitive here)"
        case .noAddressableKey(let t): return "table \(quoteIdentifier(t)) has no primary key and its columns shadow every rowid alias (rowid, _rowid_, oid); declare a primary key to capture it"
        }
    }
}
