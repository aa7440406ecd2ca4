import CDCCore
import CDCSQLite
import Foundation

/// Creates read-model tables from projected schemas and evolves them: added, renamed and
/// dropped columns, renamed tables (the plan is the sink's, see ``ColumnMigration``).
///
/// A read-model table keeps the source's column names (renamed by the projection), declared
/// types (hence affinities), NOT NULL constraints, PRIMARY KEY (composite kept) and WITHOUT
/// ROWID; a table keyed by its rowid is created without a key, and rows keep the source rowid.
/// Every identifier is quoted. Statements are prepared one at a time (never `sqlite3_exec`),
/// so text from an event can never run a second statement.
/// Source: https://www.sqlite.org/lang_createtable.html, https://www.sqlite.org/lang_altertable.html
enum ReplicaDDL {
    /// Makes the read-model table able to take rows of the projected schema: creates it when
    /// missing, adds new columns, and refuses every other difference.
    ///
    /// - Parameters:
    ///   - projected: the projection of the event's source schema.
    ///   - isOlderSchema: the event's schema version is below one already applied (a replay):
    ///     the table may then hold columns the event lacks.
    ///   - lsn: the event's LSN, for error messages.
    /// - Returns: a description of what was done (`nil` when nothing), for the log.
    /// - Throws: ``SinkError/unsupportedSchemaChange``, ``SQLiteError``.
    static func prepareTable(_ projected: ProjectedTable, isOlderSchema: Bool, lsn: LSN, connection: Connection) throws -> String? {
        let target = projected.targetSchema
        for c in target.columns { try checkDeclaredType(c, table: target.name, lsn: lsn) }
        guard try connection.tableExists(target.name) else {
            try run(createTableSQL(target), connection)
            return "created table \(quoteIdentifier(target.name))"
        }
        let existing = try connection.tableSchema(target.name)
        func unsupported(_ change: String) -> SinkError {
            .unsupportedSchemaChange(table: target.name, change: change, lsn: lsn)
        }
        guard existing.isWithoutRowID == target.isWithoutRowID else {
            throw unsupported(target.isWithoutRowID ? "the source table is now WITHOUT ROWID" : "the source table is no longer WITHOUT ROWID")
        }
        let existingKey = existing.keyColumnIndices.map { existing.columns[$0].name.lowercased() }
        let targetKey = target.keyColumnIndices.map { target.columns[$0].name.lowercased() }
        guard existingKey == targetKey else {
            throw unsupported("the primary key changed from (\(existingKey.joined(separator: ", "))) to (\(targetKey.joined(separator: ", ")))")
        }
        let existingByName = Dictionary(existing.columns.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        let targetNames = Set(target.columns.map { $0.name.lowercased() })
        if !isOlderSchema, let gone = existing.columns.first(where: { !targetNames.contains($0.name.lowercased()) }) {
            throw unsupported("column \(quoteIdentifier(gone.name)) is no longer in the source table (dropped or renamed)")
        }
        var added: [String] = []
        for c in target.columns {
            guard let old = existingByName[c.name.lowercased()] else {
                try run(addColumnSQL(c, table: target.name, lsn: lsn), connection)
                added.append(quoteIdentifier(c.name))
                continue
            }
            guard old.declaredType.lowercased() == c.declaredType.lowercased() else {
                throw unsupported("column \(quoteIdentifier(c.name)) changed its declared type from \(old.declaredType.isEmpty ? "none" : old.declaredType) to \(c.declaredType.isEmpty ? "none" : c.declaredType)")
            }
        }
        return added.isEmpty ? nil : "added column(s) \(added.joined(separator: ", ")) to table \(quoteIdentifier(target.name))"
    }

    /// Renames a read-model column in place (values, position and declared type stay).
    /// Source: https://www.sqlite.org/lang_altertable.html#altertabrename
    static func renameColumn(_ old: String, to new: String, table: String, connection: Connection) throws {
        try run("ALTER TABLE \(quoteIdentifier(table)) RENAME COLUMN \(quoteIdentifier(old)) TO \(quoteIdentifier(new))", connection)
    }

    /// Drops a read-model column with its values (never a key column: the caller checks).
    /// Source: https://www.sqlite.org/lang_altertable.html#altertabdropcol
    static func dropColumn(_ column: String, table: String, connection: Connection) throws {
        try run("ALTER TABLE \(quoteIdentifier(table)) DROP COLUMN \(quoteIdentifier(column))", connection)
    }

    /// Renames a read-model table (its rows stay).
    static func renameTable(_ old: String, to new: String, connection: Connection) throws {
        try run("ALTER TABLE \(quoteIdentifier(old)) RENAME TO \(quoteIdentifier(new))", connection)
    }

    /// The CREATE TABLE statement of a read-model table.
    static func createTableSQL(_ schema: TableSchema) -> String {
        var parts = schema.columns.map { c -> String in
            var d = quoteIdentifier(c.name)
            if !c.declaredType.isEmpty { d += " " + c.declaredType }
            if c.isNotNull { d += " NOT NULL" }
            return d
        }
        let key = schema.keyColumnIndices.map { quoteIdentifier(schema.columns[$0].name) }
        if !key.isEmpty { parts.append("PRIMARY KEY(\(key.joined(separator: ", ")))") }
        return "CREATE TABLE \(quoteIdentifier(schema.name))(\(parts.joined(separator: ", ")))" + (schema.isWithoutRowID ? " WITHOUT ROWID" : "")
    }

    /// The ALTER TABLE … ADD COLUMN statement for a new column. Existing rows take the
    /// column's default, exactly as they did in the source when it ran the same ALTER.
    /// - Throws: ``SinkError/unsupportedSchemaChange`` for a key column, or a NOT NULL column
    ///   without a literal default (SQLite's own rule for ADD COLUMN).
    static func addColumnSQL(_ c: ColumnSchema, table: String, lsn: LSN) throws -> String {
        if c.primaryKeyPosition > 0 {
            throw SinkError.unsupportedSchemaChange(table: table, change: "new key column \(quoteIdentifier(c.name))", lsn: lsn)
        }
        var d = quoteIdentifier(c.name)
        if !c.declaredType.isEmpty { d += " " + c.declaredType }
        if let dflt = c.defaultSQL {
            guard isLiteral(dflt) else {
                throw SinkError.unsupportedSchemaChange(table: table, change: "new column \(quoteIdentifier(c.name)) has a default that is not a literal value", lsn: lsn)
            }
            d += " DEFAULT \(dflt)"
        }
        if c.isNotNull {
            guard c.defaultSQL != nil else {
                throw SinkError.unsupportedSchemaChange(table: table, change: "new column \(quoteIdentifier(c.name)) is NOT NULL without a default", lsn: lsn)
            }
            d += " NOT NULL"
        }
        return "ALTER TABLE \(quoteIdentifier(table)) ADD COLUMN \(d)"
    }

    /// Accepts declared types that are type names as SQLite parses them: words, and an
    /// optional parenthesised list of signed numbers (`VARCHAR(10)`, `DECIMAL(10, 2)`).
    /// Source: https://www.sqlite.org/syntax/type-name.html
    static func checkDeclaredType(_ c: ColumnSchema, table: String, lsn: LSN) throws {
        var depth = 0
        var ok = true
        for ch in c.declaredType.unicodeScalars {
            switch ch {
            case "(": depth += 1; ok = ok && depth == 1
            case ")": depth -= 1; ok = ok && depth == 0
            case ",", "+", "-", ".": ok = ok && depth == 1
            case " ", "_": break
            default: ok = ok && (("a"..."z").contains(ch) || ("A"..."Z").contains(ch) || ("0"..."9").contains(ch))
            }
            if !ok { break }
        }
        guard ok, depth == 0 else {
            throw SinkError.unsupportedSchemaChange(table: table, change: "column \(quoteIdentifier(c.name)) has a declared type that is not a plain type name", lsn: lsn)
        }
    }

    /// Whether a default is a literal SQLite accepts in ADD COLUMN: NULL, TRUE, FALSE, a signed
    /// number, a string literal or a blob literal (optionally in parentheses).
    static func isLiteral(_ sql: String) -> Bool {
        var s = Substring(sql.trimmingCharacters(in: .whitespaces))
        while s.hasPrefix("("), s.hasSuffix(")") { s = s.dropFirst().dropLast() }
        let upper = s.uppercased()
        if ["NULL", "TRUE", "FALSE"].contains(upper) { return true }
        if upper.hasPrefix("X'") || s.hasPrefix("'") {
            let body = upper.hasPrefix("X'") ? s.dropFirst(2) : s.dropFirst()
            guard body.hasSuffix("'") else { return false }
            // Inside, quotes come only doubled.
            let inner = body.dropLast()
            return inner.replacingOccurrences(of: "''", with: "").contains("'") == false
        }
        var number = s
        if number.hasPrefix("+") || number.hasPrefix("-") { number = number.dropFirst() }
        guard let first = number.unicodeScalars.first, first == "." || ("0"..."9").contains(first) else { return false }
        return (Double(number) != nil || number.uppercased().hasPrefix("0X") && Int64(number.dropFirst(2), radix: 16) != nil)
    }

    private static func run(_ sql: String, _ connection: Connection) throws {
        let statement = try connection.prepare(sql)
        while try statement.step() {}
    }
}
