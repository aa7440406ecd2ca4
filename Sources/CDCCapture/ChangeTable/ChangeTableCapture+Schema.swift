import CDCCore
import CDCSQLite

extension ChangeTableCapture {
    /// When `PRAGMA schema_version` moved (or `force`), re-reads every captured table's
    /// schema and repairs the capture in one short write transaction on the agent's own
    /// objects:
    /// - columns changed (ALTER TABLE ADD/RENAME COLUMN): bump the table's schema version,
    ///   rebuild its triggers with a new generation, widening `_cdc_changes` if needed, and
    ///   record an `alter` schema event to announce;
    /// - triggers missing (the table was dropped and created again, or someone dropped
    ///   them): rebuild them and queue a resync snapshot epoch of that table, since its
    ///   changes in between were not recorded;
    /// - table renamed (its triggers follow it): keep capturing under the new name, one schema
    ///   version up, and record a `rename` schema event to announce;
    /// - table dropped: stop capturing it, with a warning, and record a `drop` to announce;
    /// - tables added by a new `cdc-agent install`: queue a snapshot epoch for them;
    /// - a different install id (uninstall + install while running): resync everything.
    func refreshSchemaIfChanged(force: Bool = false) throws {
        let version = try connection.schemaVersion()
        guard force || version != knownSchemaVersion else { return }
        var resync = Set<Int64>()
        var resyncAll = false
        try connection.transaction(.immediate) {
            guard var fresh = try ChangeTableMeta.read(from: connection) else { throw CaptureError.notInstalled(path: sourcePath) }
            if isStarted && fresh.installID != meta.installID {
                logger.warning("\(sourcePath): capture was reinstalled while the agent ran (new install id); running a resync snapshot epoch")
                resyncAll = true
            }
            // Renames and drops go to the log as schema events (ChangeTableCapture+SchemaEvents),
            // recorded here in the same transaction as the table records they change; only
            // for tables the log has events of.
            var announcements = try pendingAnnouncements()
            let announced = announcements.count
            let logKnowsTables = try isStarted || log.lastLSN() != .zero
            let installer = ChangeTableInstaller(connection: connection, logger: logger)
            let triggers = try installer.existingTriggerNames()
            var newSchemas: [Int64: TableSchema] = [:]
            var renamedFrom: String?
            for var record in fresh.orderedTables {
                let insertTrigger = ChangeTableLayout.triggerName(tableID: record.id, generation: record.generation, kind: .insert)
                if let owner = try connection.scalar("SELECT tbl_name FROM sqlite_schema WHERE type = 'trigger' AND name = ?", [.string(insertTrigger)])?.stringValue,
                   owner != record.name {
                    logger.warning("\(sourcePath): table \(quoteIdentifier(record.name)) was renamed to \(quoteIdentifier(owner)); capturing it under the new name")
                    renamedFrom = record.name
                    record.name = owner
                    // A rename is a schema change: consumers address the table by its name.
                    record.schemaVersion += 1
                    fresh.tables[record.id] = record
                } else {
                    renamedFrom = nil
                }
                guard try connection.tableExists(record.name) else {
                    logger.warning("\(sourcePath): captured table \(quoteIdentifier(record.name)) was dropped; no longer capturing it")
                    fresh.tables[record.id] = nil
                    let last = schemas[record.id] ?? (try? TableSchema(schemaJSON: record.shape, name: record.name)).map { s in
                        var s = s
                        s.version = record.schemaVersion
                        return s
                    }
                    if logKnowsTables, !resyncAll, let last {
                        announcements.append(PendingAnnouncement(kind: .drop, table: record.name, previous: record.name, schema: last))
                    }
                    continue
                }
                let current = try connection.tableSchema(record.name)
                let shapeChanged = ChangeTableLayout.shapeText(of: current) != record.shape
                let complete = ChangeTableLayout.TriggerKind.allCases.allSatisfy {
                    triggers.contains(ChangeTableLayout.triggerName(tableID: record.id, generation: record.generation, kind: $0))
                }
                if shapeChanged || !complete {
                    if shapeChanged { record.schemaVersion += 1 }
                    try ChangeTableInstaller.rebuildTriggers(&record, schema: current, meta: &fresh, connection: connection)
                    logger.info("\(sourcePath): rebuilt the triggers of \(quoteIdentifier(record.name)) (generation \(record.generation), schema version \(record.schemaVersion))")
                    if !complete {
                        logger.warning("\(sourcePath): the triggers of \(quoteIdentifier(record.name)) were missing, so changes may not have been recorded; running a resync snapshot epoch of it")
                        resync.insert(record.id)
                    }
                }
                var stamped = current
                stamped.version = record.schemaVersion
                newSchemas[record.id] = stamped
                if let renamedFrom, logKnowsTables, !resyncAll {
                    announcements.append(PendingAnnouncement(kind: .rename, table: record.name, previous: renamedFrom, schema: stamped))
                } else if shapeChanged, complete, logKnowsTables, !resyncAll {
                    // ALTER TABLE (the triggers survived it): announced, so the read model
                    // gains or renames the column now, not at the table's next row change.
                    announcements.append(PendingAnnouncement(kind: .alter, table: record.name, previous: record.name, schema: stamped))
                }
                if isStarted && meta.tables[record.id] == nil && !resyncAll { resync.insert(record.id) }
            }
            try fresh.write(to: connection)
            if announcements.count != announced { try storeAnnouncements(announcements) }
            announcementsPending = !announcements.isEmpty
            meta = fresh
            schemas = newSchemas
            // A table no longer captured needs a new snapshot if it is captured again.
            snapshottedTableIDs.formIntersection(fresh.tables.keys)
        }
        knownSchemaVersion = try connection.schemaVersion()
        defaultValues = [:]
        if resyncAll {
            consumedSeq = 0
            openGroup = nil
            pendingSnapshot = PendingSnapshot(tableIDs: nil, reason: "resync")
        } else if !resync.isEmpty {
            let ids = pendingSnapshot.map { $0.tableIDs.map { $0.union(resync) } } ?? resync
            pendingSnapshot = PendingSnapshot(tableIDs: ids, reason: pendingSnapshot?.reason ?? "resync", requestIDs: pendingSnapshot?.requestIDs ?? [])
        }
    }
}
