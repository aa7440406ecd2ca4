import CDCCore
import CDCSQLite

/// Schema evolution of the read model (docs/sinks.md, "Schema changes"): `schema` events, and
/// change events whose schema is newer or older than the one applied.
extension SQLiteSink {
    /// Applies a `schema` event: follows a created, altered, renamed or dropped source table in
    /// the read model, through the projection.
    ///
    /// - Returns: the read-model rows removed (a dropped table's).
    /// - Throws: ``SinkError/projectionOutdated(table:change:lsn:fix:)`` when the projection names
    ///   a table or column the change renamed or dropped, ``SinkError/unsupportedSchemaChange``
    ///   for a change the read model cannot take, ``ProjectionError``, ``SQLiteError``.
    func apply(_ change: SchemaChange, lsn: LSN) throws -> Int {
        logger.info("source table \(quoteIdentifier(change.previousName)): \(change.kind.rawValue)\(change.kind == .rename ? " to \(quoteIdentifier(change.table))" : ""), schema version \(change.schema.version), LSN \(lsn)")
        switch change.kind {
        case .drop:
            // A replayed drop must not empty a later table of the same name: the drop's floor
            // already covers it.
            guard let rule = projection.rule(for: change.previousName), lsn > metadata.floor(of: change.previousName) else { return 0 }
            // The source no longer has the table: its rows go as if an epoch at this LSN held
            // none of them (the floor keeps replays of older events out), and so does the
            // read-model table, which a later table of that name may define differently.
            let removed = try finishEpoch(SnapshotEpoch(epoch: lsn, tables: [change.previousName], reason: "drop"))
            if !Self.isReserved(rule.target), try connection.tableExists(rule.target) {
                try connection.execute("DROP TABLE \(quoteIdentifier(rule.target))")
                logger.info("dropped table \(quoteIdentifier(rule.target)) (source table \(quoteIdentifier(change.previousName)) dropped, LSN \(lsn))")
            }
            tableStates[change.previousName] = nil
            try metadata.forget(table: change.previousName, floor: lsn)
            return removed
        case .rename:
            try applyRename(change, lsn: lsn)
            return 0
        case .create, .alter:
            guard let rule = projection.rule(for: change.table) else { return 0 }
            // A replay of an older change: the newer schema is already in place.
            guard change.schema.version >= metadata.schemaVersion(of: change.table) else { return 0 }
            try migrate(change.table, to: change.schema, rule: rule, lsn: lsn)
            return 0
        }
    }

    /// Follows a renamed source table: the read-model table is renamed (when the projection
    /// gives it another name) and keeps its rows, versions and floor under the new name; the
    /// snapshot epoch WAL capture emits after a rename then rewrites its rows. The old name
    /// keeps a floor at the rename, so replays of its older events stay out.
    private func applyRename(_ change: SchemaChange, lsn: LSN) throws {
        let old = change.previousName, new = change.table
        let oldRule = projection.rule(for: old)
        guard let newRule = projection.rule(for: new) else {
            guard let oldRule else { return }
            // The projection names the table by its old name only: following the rename would
            // drop the read model silently, so stop and say what to change.
            throw SinkError.projectionOutdated(
                table: old, change: "the table was renamed to \(quoteIdentifier(new))", lsn: lsn,
                fix: "rename tables.\(Self.jsonString(old)) to \(Self.jsonString(new)) in the projection (with \"as\": \(Self.jsonString(oldRule.target)) the read-model table keeps its name)")
        }
        // A replay: the rename (and any later change) is already in place.
        guard change.schema.version > metadata.schemaVersion(of: new) else { return }
        guard !Self.isReserved(newRule.target) else { throw SinkError.reservedTableName(newRule.target) }
        if let oldRule, oldRule.target != newRule.target, try connection.tableExists(oldRule.target) {
            guard try !connection.tableExists(newRule.target) else {
                throw SinkError.unsupportedSchemaChange(table: new, change: "renamed from \(quoteIdentifier(old)), but the read model already has a table \(quoteIdentifier(newRule.target))", lsn: lsn)
            }
            try ReplicaDDL.renameTable(oldRule.target, to: newRule.target, connection: connection)
            logger.info("renamed table \(quoteIdentifier(oldRule.target)) to \(quoteIdentifier(newRule.target)) (source table \(quoteIdentifier(old)) renamed to \(quoteIdentifier(new)), LSN \(lsn))")
        }
        // The old name's bookkeeping describes the read-model table when the projection kept
        // the old name, or kept it before the projection was changed to the new name. (A table
        // the projection never kept, such as the temporary table of a rebuild, has none.)
        if oldRule != nil || metadata.knownTables.contains(old) {
            try metadata.move(table: old, to: new, at: lsn)
        }
        tableStates[old] = nil
        tableStates[new] = nil
        try migrate(new, to: change.schema, rule: newRule, lsn: lsn)
    }

    /// Evolves the read-model table of a source table to a new source schema, in the batch's
    /// transaction: creates it when missing; otherwise compares the new schema with the one
    /// applied before (``ColumnMigration``) and renames, drops and adds read-model columns.
    ///
    /// - A projection that keeps every column: columns renamed in place are renamed, dropped
    ///   ones dropped, new ones added with their default (what rows written before the change
    ///   read in the source).
    /// - A projection that lists columns: new columns are not kept; a listed column (or the
    ///   filter column) that was renamed or dropped stops with
    ///   ``SinkError/projectionOutdated(table:change:lsn:fix:)``; read-model columns the
    ///   projection no longer lists are dropped.
    /// - Anything else (a changed key, declared type or WITHOUT ROWID; a NOT NULL column
    ///   without a default; a default that is not a literal; a step whose old rows could be
    ///   read two ways, ``ColumnMigration/ambiguity``) stops with
    ///   ``SinkError/unsupportedSchemaChange``.
    ///
    /// - Throws: as described, and ``ProjectionError``, ``SQLiteError``.
    /// - Complexity: DROP COLUMN rewrites the read-model table (O(rows)); the others change
    ///   only its definition.
    func migrate(_ source: String, to schema: TableSchema, rule: Projection.TableRule, lsn: LSN) throws {
        // Cached statements name the old columns.
        tableStates[source] = nil
        guard try connection.tableExists(rule.target) else {
            let projected = try project(schema, rule: rule)
            if let done = try ReplicaDDL.prepareTable(projected, isOlderSchema: false, lsn: lsn, connection: connection) {
                logger.info("\(done) (source table \(quoteIdentifier(source)), schema version \(schema.version), LSN \(lsn))")
            }
            try metadata.record(sourceSchema: schema)
            return
        }
        let existing = try connection.tableSchema(rule.target)
        // The schema applied before: the stored one, or, in a replica written before schemas
        // were stored, the read-model table's own columns when it keeps every column under its
        // own name. Without either, only added columns are followed (ReplicaDDL).
        let previous = metadata.sourceSchema(of: source)
            ?? (rule.columns == nil ? TableSchema(name: source, version: 0, columns: existing.columns, isWithoutRowID: existing.isWithoutRowID) : nil)
        let plan = previous.map { ColumnMigration(from: $0, to: schema) }
        if let plan, let ambiguity = plan.ambiguity {
            throw SinkError.unsupportedSchemaChange(table: source, change: ambiguity, lsn: lsn)
        }
        try checkProjection(rule, fits: schema, plan: plan, lsn: lsn)
        let projected = try project(schema, rule: rule)
        var done: [String] = []
        if let plan {
            if rule.columns == nil {
                var names = Set(existing.columns.map { $0.name.lowercased() })
                for (old, new) in plan.renamed where names.contains(old.lowercased()) && !names.contains(new.lowercased()) {
                    try ReplicaDDL.renameColumn(old, to: new, table: rule.target, connection: connection)
                    names.remove(old.lowercased())
                    names.insert(new.lowercased())
                    done.append("renamed column \(quoteIdentifier(old)) to \(quoteIdentifier(new))")
                }
            }
            // Columns the projected schema no longer has (dropped in the source, or no longer
            // kept by the projection) would hold values nobody updates; replica-check would
            // report them. Key columns stay: ReplicaDDL reports a changed key.
            let kept = Set(projected.targetSchema.columns.map { $0.name.lowercased() })
            for column in try connection.tableSchema(rule.target).columns where !kept.contains(column.name.lowercased()) && column.primaryKeyPosition == 0 {
                try ReplicaDDL.dropColumn(column.name, table: rule.target, connection: connection)
                done.append("dropped column \(quoteIdentifier(column.name))")
            }
        }
        if let added = try ReplicaDDL.prepareTable(projected, isOlderSchema: false, lsn: lsn, connection: connection) {
            done.append(added)
        }
        try metadata.record(sourceSchema: schema)
        if !done.isEmpty {
            logger.info("table \(quoteIdentifier(rule.target)): \(done.joined(separator: "; ")) (source table \(quoteIdentifier(source)), schema version \(schema.version), LSN \(lsn))")
        }
    }

    /// Stops when the projection names a column (kept, or filtered on) that a schema change
    /// renamed or dropped, saying what to change in the projection.
    private func checkProjection(_ rule: Projection.TableRule, fits schema: TableSchema, plan: ColumnMigration?, lsn: LSN) throws {
        let names = Set(schema.columns.map { $0.name.lowercased() })
        func outdated(_ column: String, renamedFix: (String) -> String, droppedFix: String) -> SinkError {
            if let new = plan?.newName(ofRenamed: column) {
                return .projectionOutdated(table: rule.source, change: "column \(quoteIdentifier(column)) was renamed to \(quoteIdentifier(new))", lsn: lsn, fix: renamedFix(new))
            }
            let what = plan?.isDropped(column) == true ? "was dropped" : "is no longer in the source table"
            return .projectionOutdated(table: rule.source, change: "column \(quoteIdentifier(column)) \(what)", lsn: lsn, fix: droppedFix)
        }
        let place = "tables.\(Self.jsonString(rule.source))"
        for c in rule.columns ?? [] where !names.contains(c.source.lowercased()) {
            throw outdated(c.source,
                           renamedFix: { "in \(place).columns replace \(Self.jsonString(c.source)) by {\"name\": \(Self.jsonString($0)), \"as\": \(Self.jsonString(c.target))}" },
                           droppedFix: "remove \(Self.jsonString(c.source)) from \(place).columns (the sink then drops its read-model column)")
        }
        if let filter = rule.filter, !names.contains(filter.column.lowercased()) {
            throw outdated(filter.column,
                           renamedFix: { "set \(place).where.column to \(Self.jsonString($0))" },
                           droppedFix: "filter \(place) on another column, or remove its \"where\"")
        }
    }

    /// The projection of a source schema, refusing target names the sink reserves.
    /// - Throws: ``ProjectionError``, ``SinkError/reservedTableName``.
    func project(_ schema: TableSchema, rule: Projection.TableRule) throws -> ProjectedTable {
        let projected = try ProjectedTable(rule: rule, sourceSchema: schema)
        guard !Self.isReserved(projected.targetSchema.name) else { throw SinkError.reservedTableName(projected.targetSchema.name) }
        return projected
    }

    /// A table state for events of a schema older than the one applied (a replay, or events
    /// reordered within a batch): their images are mapped onto the newest schema the way the
    /// read model was migrated (``ColumnMigration``): renamed columns carry their values,
    /// dropped ones are left out, and columns added since keep the read model's default.
    /// No DDL runs for an older schema.
    func olderSchemaTable(_ schema: TableSchema, current: TableSchema, rule: Projection.TableRule, lsn: LSN) throws -> ReplicaTable {
        let plan = ColumnMigration(from: schema, to: current)
        var columns: [ColumnSchema] = []
        var indices: [Int] = []
        for (j, i) in plan.oldIndexOfNewColumn.enumerated() {
            guard let i else { continue }
            columns.append(current.columns[j])
            indices.append(i)
        }
        let shaped = TableSchema(name: current.name, version: current.version, columns: columns, isWithoutRowID: current.isWithoutRowID)
        let names = Set(columns.map { $0.name.lowercased() })
        var narrowed = rule
        narrowed.columns = rule.columns?.filter { names.contains($0.source.lowercased()) }
        if let filter = rule.filter, !names.contains(filter.column.lowercased()) {
            throw SinkError.unsupportedSchemaChange(table: schema.name, change: "an event of schema version \(schema.version) lacks the filter column \(quoteIdentifier(filter.column)) of schema version \(current.version)", lsn: lsn)
        }
        let projected = try project(shaped, rule: narrowed)
        _ = try ReplicaDDL.prepareTable(projected, isOlderSchema: true, lsn: lsn, connection: connection)
        return try ReplicaTable(projected: projected, connection: connection, eventSchema: schema, imageIndices: indices)
    }

    /// A name as a JSON string, for the projection edits error messages suggest.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }
}
