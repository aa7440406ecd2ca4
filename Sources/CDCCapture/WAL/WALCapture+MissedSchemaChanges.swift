import CDCCore
import CDCTransport

extension WALCapture {
    /// The schema changes a resync epoch must announce before its rows: what happened to the
    /// tables while the agent could not follow the WAL (stopped, or behind a checkpoint it
    /// could not see), as the log's newest schema of each table against the tables now.
    ///
    /// - a table the log knows but the source no longer has: `drop` (without it, a sink would
    ///   keep the rows of a table no epoch covers any more);
    /// - a table under a known name with another key (columns, rowid or not, WITHOUT ROWID):
    ///   `drop` then `create`, as a table replaced while streaming is announced;
    /// - a table whose columns or types changed: `alter`;
    /// - a table the log does not know: `create`.
    ///
    /// Versions continue above the log's, also when the stored versions were lost, so that a
    /// sink never takes the new schema for a replay of an older one (``tables`` is updated).
    /// Renames cannot be told from a drop and a create here; the rows come with the epoch.
    /// - Returns: the changes, in table-name byte order, drops of vanished tables included.
    /// - Throws: ``EventLogError`` for an undecodable event in the log, ``SQLiteError``.
    /// - Complexity: one pass over the log's rows (``EventLog/latestSchemas()``); runs only for
    ///   resync epochs.
    func missedSchemaChanges() throws -> [SchemaChange] {
        let known = try log.latestSchemas()
        var changes: [SchemaChange] = []
        let names = Set(tables.map(\.schema.name))
        for (name, old) in known where !names.contains(name) {
            changes.append(SchemaChange(table: name, kind: .drop, schema: old))
        }
        for i in tables.indices {
            let name = tables[i].schema.name
            guard let old = known[name] else {
                changes.append(SchemaChange(table: name, kind: .create, schema: tables[i].schema))
                continue
            }
            guard ChangeTableLayout.shapeText(of: old) != ChangeTableLayout.shapeText(of: tables[i].schema) else {
                // The same shape under a lower version (versions lost, or the log was written
                // in the other capture mode): take the log's.
                if tables[i].schema.version < old.version { versions.raise(&tables[i].schema, above: old.version - 1) }
                continue
            }
            if tables[i].schema.version <= old.version {
                versions.raise(&tables[i].schema, above: old.version)
            }
            let schema = tables[i].schema
            if schema.hasAnotherKey(than: old) {
                changes.append(SchemaChange(table: name, kind: .drop, schema: old))
                changes.append(SchemaChange(table: name, kind: .create, schema: schema))
            } else {
                changes.append(SchemaChange(table: name, kind: .alter, schema: schema))
            }
        }
        // Stable: a drop before the create of the same name.
        return changes.enumerated().sorted {
            $0.element.table == $1.element.table ? $0.offset < $1.offset
                : Array($0.element.table.utf8).lexicographicallyPrecedes(Array($1.element.table.utf8))
        }.map(\.element)
    }
}
