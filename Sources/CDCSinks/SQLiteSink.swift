import CDCCore
import CDCSQLite

/// Builds and maintains an SQLite read model from change events, idempotently.
///
/// Each batch is applied in one transaction that also stores the sink's offset, so a crash
/// never loses or double-applies a batch. Every row change carries its row version (its
/// LSN); the sink keeps the newest version per key, including tombstones for deleted and
/// filtered-out rows, and skips any event that is not newer. Replaying, duplicating,
/// re-delivering or reordering events therefore never changes the final state
/// (DESIGN.md promise 3). Read-model tables are created from the schemas in the events,
/// through the ``Projection``.
///
/// Not `Sendable`: use one sink from one task or queue. One replica follows one source.
///
/// ```swift
/// let log = try EventLog(path: "orders-events.db", readOnly: true)
/// let sink = try SQLiteSink(replicaPath: "orders-read.db")
/// try sink.validate(against: log)
/// let applied = try sink.sync(from: log)
/// ```
public final class SQLiteSink {
    /// The replica database path.
    public let replicaPath: String
    /// The projection the read model is built through.
    public let projection: Projection
    let connection: Connection
    let metadata: ReplicaMetadata
    let logger: Logger
    /// Table states by source table name; several when events of older schemas are replayed.
    var tableStates: [String: [ReplicaTable]] = [:]

    /// Opens (creating when missing) a replica database and its sink metadata.
    ///
    /// The replica is put in WAL mode with `synchronous=NORMAL`: a commit is atomic, and after
    /// a power loss the replica is at an earlier batch boundary with the matching offset, so
    /// the sink reads again from there.
    ///
    /// - Parameters:
    ///   - replicaPath: the replica file; its folder must exist.
    ///   - projection: which tables and columns to keep; ``Projection/identity`` keeps all.
    ///   - logger: where table creation, schema changes and epochs are reported.
    /// - Throws: ``SQLiteError`` when the file cannot be opened or is not a database,
    ///   ``SinkError/notAReplica`` when it is an existing database that is not a replica (a
    ///   service's database, an event log: the sink would write into it),
    ///   ``SinkError/reservedTableName`` when the projection targets a `_cdc_` name,
    ///   ``SinkError/corruptMetadata``.
    public init(replicaPath: String, projection: Projection = .identity, logger: Logger = .silent) throws {
        for rule in projection.tables?.values.sorted(by: { $0.source < $1.source }) ?? [] where Self.isReserved(rule.target) {
            throw SinkError.reservedTableName(rule.target)
        }
        self.replicaPath = replicaPath
        self.projection = projection
        self.logger = logger
        connection = try Connection(path: replicaPath, mode: .create)
        try Self.checkIsReplicaOrEmpty(connection)
        if try connection.journalMode() != "wal" { try connection.execute("PRAGMA journal_mode=WAL") }
        try connection.execute("PRAGMA synchronous=NORMAL")
        try connection.execute("PRAGMA cache_size=-32768")
        metadata = try ReplicaMetadata(connection: connection, replicaPath: replicaPath)
    }

    /// A replica is a new, empty database or one that holds the sink's offset table; anything
    /// else (a captured source, an event log, any database with tables) is refused before a
    /// single write, since the sink creates, fills and deletes rows of tables by name.
    static func checkIsReplicaOrEmpty(_ connection: Connection) throws {
        if try connection.tableExists("_cdc_sink_offset") { return }
        if try connection.tableExists("_cdc_meta") {
            throw SinkError.notAReplica(replica: connection.path, reason: "it is a captured source database (it has _cdc_meta)")
        }
        if try connection.tableExists("cdc_log_meta") {
            throw SinkError.notAReplica(replica: connection.path, reason: "it is an event log (give it as --log)")
        }
        let objects = try connection.query("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name LIMIT 3").compactMap { $0.first?.stringValue }
        guard objects.isEmpty else {
            throw SinkError.notAReplica(replica: connection.path, reason: "it already holds tables or views (\(objects.joined(separator: ", "))) and no sink offset")
        }
    }

    /// Closes the replica database.
    /// - Throws: ``SQLiteError``.
    public func close() throws {
        tableStates = [:]
        metadata.releaseStatements()
        try connection.close()
    }

    /// The LSN of the newest event applied (0 before the first batch): the position to read
    /// the next events after.
    /// - Throws: ``SQLiteError``, ``SinkError/corruptMetadata``.
    public var appliedLSN: LSN {
        get throws { try metadata.appliedLSN() }
    }

    /// Applies a batch of events in one transaction, together with the offset (the highest
    /// LSN in the batch; the offset never moves back).
    ///
    /// Events may come in any order and may repeat: each row change is applied only when
    /// its version is newer than the one stored for its key. Events of tables the
    /// projection leaves out are skipped, and still count for the offset.
    ///
    /// - Parameter events: events of the one source this replica follows.
    /// - Returns: how many row changes were applied and skipped.
    /// - Throws: ``SinkError`` (schema change the sink cannot take, failed write, other source),
    ///   ``ProjectionError`` (the projection names a column the table lacks),
    ///   ``SQLiteError``. On any error nothing of the batch is kept.
    /// - Complexity: O(events) b-tree writes, plus for a snapshot end marker O(rows of its tables).
    @discardableResult
    public func apply(_ events: [Event]) throws -> ApplySummary {
        guard !events.isEmpty else { return ApplySummary() }
        var summary = ApplySummary()
        do {
            try connection.transaction(.immediate) {
                var highest = events[0]
                for event in events {
                    try metadata.checkSource(event.source.service)
                    try apply(event, into: &summary)
                    if event.lsn > highest.lsn { highest = event }
                }
                try metadata.storeOffset(highest.lsn, eventTimestampMilliseconds: highest.timestampMilliseconds)
                FaultPoint.reached(FaultPoint.sinkApply)
            }
        } catch {
            // The transaction rolled back: drop what memory holds about tables and versions.
            tableStates = [:]
            try? metadata.reload()
            throw error
        }
        return summary
    }

    private func apply(_ event: Event, into summary: inout ApplySummary) throws {
        switch event.body {
        case .change(let change):
            try apply(change, lsn: event.lsn, into: &summary)
        case .snapshotStart(let epoch):
            logger.info("snapshot epoch \(epoch.epoch) (\(epoch.reason)) started for \(epoch.tables.count) table(s)")
        case .snapshotEnd(let epoch):
            summary.rowsRemovedByEpochs += try finishEpoch(epoch)
        case .heartbeat:
            break
        case .schema(let s):
            summary.rowsRemovedByEpochs += try apply(s, lsn: event.lsn)
            summary.skipped += 1
        }
    }

    private func apply(_ change: RowChange, lsn: LSN, into summary: inout ApplySummary) throws {
        guard let rule = projection.rule(for: change.table.name) else {
            summary.skipped += 1
            return
        }
        // Below the floor (an epoch or a drop reflects it): skipped before any table is built,
        // so a replay of a dropped table's events never brings its read model back.
        guard lsn > metadata.floor(of: change.table.name) else {
            summary.skipped += 1
            return
        }
        let table = try replicaTable(for: change.table, rule: rule, lsn: lsn)
        guard change.key.count == table.keyColumnNames.count else {
            throw SinkError.applyFailed(table: table.targetName, lsn: lsn, reason: "the event's key has \(change.key.count) value(s), the table's key \(table.keyColumnNames.count)")
        }
        var applied = false
        do {
            switch change.operation {
            case .insert, .snapshot, .update:
                guard let after = change.after.map(table.translate) else {
                    throw SinkError.applyFailed(table: table.targetName, lsn: lsn, reason: "the \(change.operation.rawValue) event has no after image")
                }
                let newKey = table.key(ofSourceImage: after) ?? change.key
                if change.operation == .update, newKey != change.key {
                    // A primary-key change: the old key's row is gone as of this version.
                    applied = try remove(key: change.key, from: table, version: lsn) || applied
                }
                applied = try write(key: newKey, image: after, to: table, version: lsn) || applied
            case .delete:
                applied = try remove(key: change.key, from: table, version: lsn)
            }
        } catch let error as SQLiteError {
            throw SinkError.applyFailed(table: table.targetName, lsn: lsn, reason: error.message)
        }
        if applied { summary.applied += 1 } else { summary.skipped += 1 }
    }

    /// Writes the after image under `key` when the version is newer: upserted when the
    /// projection keeps the row, removed (and remembered as absent) when it filters it out.
    private func write(key: [SQLiteValue], image: [SQLiteValue], to table: ReplicaTable, version: LSN) throws -> Bool {
        let keeps = table.projected.keeps(image)
        guard try metadata.claim(table: table.sourceName, key: RowKey(key), version: version, deleted: !keeps) else { return false }
        if keeps {
            try table.upsert(key: key, sourceImage: image)
        } else {
            try table.delete(key: key)
        }
        return true
    }

    /// Deletes `key` and leaves a tombstone when the version is newer.
    private func remove(key: [SQLiteValue], from table: ReplicaTable, version: LSN) throws -> Bool {
        guard try metadata.claim(table: table.sourceName, key: RowKey(key), version: version, deleted: true) else { return false }
        try table.delete(key: key)
        return true
    }

    /// The table state for an event's schema, creating or evolving the read-model table on
    /// first use: a schema newer than the one applied is a schema change
    /// (``migrate(_:to:rule:lsn:)``; change-table capture announces none by a `schema` event),
    /// an older one (a replay, or events reordered within a batch) is mapped onto the newest.
    private func replicaTable(for schema: TableSchema, rule: Projection.TableRule, lsn: LSN) throws -> ReplicaTable {
        if let cached = tableStates[schema.name]?.first(where: { $0.eventSchema.version == schema.version && $0.eventSchema.hasSameShape(as: schema) }) {
            return cached
        }
        let applied = metadata.schemaVersion(of: schema.name)
        let current = metadata.sourceSchema(of: schema.name)
        if schema.version < applied, let current, !current.hasSameShape(as: schema) {
            let table = try olderSchemaTable(schema, current: current, rule: rule, lsn: lsn)
            tableStates[schema.name, default: []].append(table)
            return table
        }
        if schema.version > applied || (current.map { !$0.hasSameShape(as: schema) } ?? false) {
            try migrate(schema.name, to: schema, rule: rule, lsn: lsn)
        }
        let projected = try project(schema, rule: rule)
        if let done = try ReplicaDDL.prepareTable(projected, isOlderSchema: schema.version < applied, lsn: lsn, connection: connection) {
            logger.info("\(done) (source table \(quoteIdentifier(schema.name)), schema version \(schema.version), LSN \(lsn))")
        }
        if schema.version >= applied { try metadata.record(sourceSchema: schema) }
        let table = try ReplicaTable(projected: projected, connection: connection)
        tableStates[schema.name, default: []].append(table)
        return table
    }

    /// Names a read-model table can never have: `sqlite_` belongs to SQLite (no source can hold
    /// such a table, so an event naming one is corrupt), `_cdc_` to the sink's metadata.
    static func isReserved(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasPrefix("_cdc_") || lower.hasPrefix("sqlite_")
    }
}

/// What one ``SQLiteSink/apply(_:)`` did.
public struct ApplySummary: Hashable, Sendable {
    /// Row changes that changed the read model's state (including filtered-out rows removed).
    public var applied = 0
    /// Row changes skipped: not newer than the stored version, below a snapshot epoch's
    /// floor, or of a table the projection leaves out.
    public var skipped = 0
    /// Rows removed at snapshot epoch ends because the epoch did not contain them.
    public var rowsRemovedByEpochs = 0

    /// An empty summary.
    public init() {}
}
