import CDCCore
import CDCSQLite
import Foundation

/// The sink's bookkeeping inside the replica database, next to the read-model tables:
///
/// - `_cdc_sink_offset(source, lsn, updated_ms, event_ts_ms)`: the applied LSN of the one
///   source this replica follows, written in the same transaction as the rows it covers,
///   and the `ts_ms` of the event at that LSN (a heartbeat's, when the source is idle), from
///   which the sink's lag in seconds is measured.
/// - `_cdc_row_versions(tbl, key, version, deleted)`: the row version (LSN) per source table
///   and key (``RowKey/storedValue``), kept also for deleted or filtered-out rows (tombstones), so a
///   replayed older event never resurrects or overwrites a newer state.
/// - `_cdc_sink_tables(tbl, schema_version, floor)`: per source table, the highest schema
///   version applied and the floor: the start of the newest finished snapshot epoch. Every
///   event at or below the floor is already reflected by that epoch and is skipped, which is
///   what lets the epoch's end drop older version rows safely.
/// - `_cdc_sink_schemas(tbl, schema)`: per source table, the newest source schema applied,
///   as a `schema` event line (docs/events.md), so that the next schema change can be
///   compared with it (renamed, dropped and added columns: ``ColumnMigration``), also after a
///   restart. Replicas written before this table existed have no row; the sink then falls
///   back on the read-model table's own columns.
///
/// Names start with `_cdc_`, which capture and checks leave out of "user tables".
final class ReplicaMetadata {
    private let connection: Connection
    private let replicaPath: String
    /// Prepared statements by SQL, kept for the batch loop; released by ``releaseStatements()``.
    private var statements: [String: Statement] = [:]
    /// The hot-path claim statement, kept outside the dictionary (no hashing per row).
    private var claimStatement: Statement?
    /// The source this replica follows, once known.
    private(set) var source: String?
    private var tables: [String: (schemaVersion: Int64, floor: LSN)] = [:]
    private var sourceSchemas: [String: TableSchema] = [:]

    /// Creates the metadata tables when missing and loads them.
    /// - Throws: ``SQLiteError``, ``SinkError/corruptMetadata``.
    init(connection: Connection, replicaPath: String) throws {
        self.connection = connection
        self.replicaPath = replicaPath
        try connection.transaction {
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS _cdc_sink_offset(source TEXT PRIMARY KEY, lsn INTEGER NOT NULL, updated_ms INTEGER NOT NULL, event_ts_ms INTEGER) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS _cdc_row_versions(tbl TEXT NOT NULL, key NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL, PRIMARY KEY(tbl, key)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS _cdc_sink_tables(tbl TEXT PRIMARY KEY, schema_version INTEGER NOT NULL, floor INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS _cdc_sink_schemas(tbl TEXT PRIMARY KEY, schema TEXT NOT NULL) WITHOUT ROWID;
                """)
            // Replicas made before event_ts_ms existed get the column (NULL until the next batch).
            if try !connection.query("PRAGMA table_info(_cdc_sink_offset)").contains(where: { $0[1].stringValue == "event_ts_ms" }) {
                try connection.execute("ALTER TABLE _cdc_sink_offset ADD COLUMN event_ts_ms INTEGER")
            }
        }
        try reload()
    }

    private static let claimSQL = """
        INSERT INTO _cdc_row_versions(tbl, key, version, deleted) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT(tbl, key) DO UPDATE SET version = excluded.version, deleted = excluded.deleted
        WHERE excluded.version > _cdc_row_versions.version
        """
    // The event time follows the LSN: a replayed older batch leaves both as they were.
    private static let offsetSQL = """
        INSERT INTO _cdc_sink_offset(source, lsn, updated_ms, event_ts_ms) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT(source) DO UPDATE SET lsn = max(lsn, excluded.lsn), updated_ms = excluded.updated_ms,
            event_ts_ms = CASE WHEN excluded.lsn >= lsn THEN excluded.event_ts_ms ELSE event_ts_ms END
        """
    private static let tableSQL = """
        INSERT INTO _cdc_sink_tables(tbl, schema_version, floor) VALUES (?1, ?2, ?3)
        ON CONFLICT(tbl) DO UPDATE SET schema_version = max(schema_version, excluded.schema_version), floor = max(floor, excluded.floor)
        """
    private static let versionSQL = "SELECT version FROM _cdc_row_versions WHERE tbl = ? AND key = ?"

    private func statement(_ sql: String) throws -> Statement {
        if let s = statements[sql] { return s }
        let s = try connection.prepare(sql)
        statements[sql] = s
        return s
    }

    /// Finalizes the cached statements (before the connection closes).
    func releaseStatements() {
        statements = [:]
        claimStatement = nil
    }

    /// Re-reads the stored state (after a rolled-back batch left the memory ahead of it).
    func reload() throws {
        let sources = try connection.query("SELECT source FROM _cdc_sink_offset")
        guard sources.count <= 1 else { throw SinkError.corruptMetadata("_cdc_sink_offset holds \(sources.count) sources") }
        source = sources.first?.first?.stringValue
        tables = [:]
        for row in try connection.query("SELECT tbl, schema_version, floor FROM _cdc_sink_tables") {
            guard let name = row[0].stringValue, case .integer(let version) = row[1], case .integer(let floor) = row[2] else {
                throw SinkError.corruptMetadata("_cdc_sink_tables holds a malformed row")
            }
            tables[name] = (version, LSN(floor))
        }
        sourceSchemas = [:]
        for row in try connection.query("SELECT tbl, schema FROM _cdc_sink_schemas") {
            guard let name = row[0].stringValue, case .text(let line) = row[1],
                  case .schema(let change)? = try? Event(jsonLine: line).body else {
                throw SinkError.corruptMetadata("_cdc_sink_schemas holds a malformed row")
            }
            sourceSchemas[name] = change.schema
        }
    }

    /// The LSN of the newest event applied (0 before the first batch).
    func appliedLSN() throws -> LSN {
        guard let value = try connection.scalar("SELECT lsn FROM _cdc_sink_offset") else { return .zero }
        guard case .integer(let lsn) = value else { throw SinkError.corruptMetadata("the stored offset is not an integer") }
        return LSN(lsn)
    }

    /// Checks that an event comes from the source this replica follows; the first event
    /// names it.
    /// - Throws: ``SinkError/sourceMismatch``.
    func checkSource(_ service: String) throws {
        if let source {
            guard source == service else { throw SinkError.sourceMismatch(replica: replicaPath, expected: source, found: service) }
        } else {
            source = service
        }
    }

    /// Stores the offset (never lowering it) and the `ts_ms` of the event at it; call inside
    /// the batch's transaction.
    func storeOffset(_ lsn: LSN, eventTimestampMilliseconds: Int64? = nil) throws {
        guard let source else { return }
        try statement(Self.offsetSQL).run([.string(source), .integer(lsn.rawValue), .integer(Int64((Date().timeIntervalSince1970 * 1000).rounded())),
                                           eventTimestampMilliseconds.map { .integer($0) } ?? .null])
    }

    /// The offset, the `ts_ms` of the event at it and when it was stored (`nil` before the
    /// first batch).
    func progress() throws -> (lsn: LSN, eventTimestampMilliseconds: Int64?, updatedMilliseconds: Int64)? {
        guard let row = try connection.query("SELECT lsn, event_ts_ms, updated_ms FROM _cdc_sink_offset").first,
              case .integer(let lsn) = row[0], case .integer(let updated) = row[2] else { return nil }
        let ts: Int64? = if case .integer(let t) = row[1] { t } else { nil }
        return (LSN(lsn), ts, updated)
    }

    /// Records `version` for a key when it is newer than the stored one.
    ///
    /// - Parameters:
    ///   - deleted: whether the key's row is absent from the read model at this version
    ///     (deleted, or filtered out by the projection).
    /// - Returns: whether the event is newer and must be applied; `false` means skip it.
    /// - Complexity: one b-tree seek.
    func claim(table: String, key: RowKey, version: LSN, deleted: Bool) throws -> Bool {
        let claimStatement = try self.claimStatement ?? statement(Self.claimSQL)
        self.claimStatement = claimStatement
        try claimStatement.bind([.string(table), key.storedValue, .integer(version.rawValue), .integer(deleted ? 1 : 0)])
        while try claimStatement.step() {}
        return connection.changedRowCount > 0
    }

    /// The stored version of a key, or `nil` when the key has none.
    func version(table: String, key: RowKey) throws -> LSN? {
        let versionStatement = try statement(Self.versionSQL)
        try versionStatement.bind([.string(table), key.storedValue])
        defer { versionStatement.reset() }
        guard try versionStatement.step(), case .integer(let v) = versionStatement.value(at: 0) else { return nil }
        return LSN(v)
    }

    /// The floor of a source table: events at or below it are skipped.
    func floor(of table: String) -> LSN { tables[table]?.floor ?? .zero }

    /// The highest schema version applied for a source table (0 when none).
    func schemaVersion(of table: String) -> Int64 { tables[table]?.schemaVersion ?? 0 }

    /// The source tables the replica has bookkeeping for.
    var knownTables: [String] { tables.keys.sorted() }

    /// Records a schema version and/or raises the floor of a source table (never lowers either).
    func record(table: String, schemaVersion: Int64 = 0, floor: LSN = .zero) throws {
        let old = tables[table]
        let new = (max(old?.schemaVersion ?? 0, schemaVersion), max(old?.floor ?? .zero, floor))
        if let old, old.schemaVersion == new.0, old.floor == new.1 { return }
        try statement(Self.tableSQL).run([.string(table), .integer(new.0), .integer(new.1.rawValue)])
        tables[table] = new
    }

    /// Removes the version rows of a table older than `epoch`; returns how many.
    func dropVersions(table: String, olderThan epoch: LSN) throws -> Int64 {
        try connection.execute("DELETE FROM _cdc_row_versions WHERE tbl = ? AND version < ?", [.string(table), .integer(epoch.rawValue)])
    }

    /// The newest source schema applied for a table, or `nil` when none is stored (a new
    /// table, a dropped one, or a replica written before schemas were stored).
    func sourceSchema(of table: String) -> TableSchema? { sourceSchemas[table] }

    /// Stores the newest source schema of a table and raises its schema version to it.
    func record(sourceSchema schema: TableSchema) throws {
        try record(table: schema.name, schemaVersion: schema.version)
        guard sourceSchemas[schema.name] != schema else { return }
        let line = Event(lsn: LSN(1), source: Self.schemaSource, timestampMilliseconds: 0,
                         body: .schema(SchemaChange(table: schema.name, kind: .alter, schema: schema))).jsonLine()
        try connection.execute("INSERT INTO _cdc_sink_schemas(tbl, schema) VALUES (?, ?) ON CONFLICT(tbl) DO UPDATE SET schema = excluded.schema",
                               [.string(schema.name), .text(line)])
        sourceSchemas[schema.name] = schema
    }

    /// The envelope the stored schema lines carry (only their `schema` member is read back).
    private static let schemaSource = SourceInfo(service: "sink", database: "", mode: .wal)

    /// Forgets a dropped table's schema (the next table of that name starts again at its own
    /// version) and raises its floor to `floor`, so replays of the old table's events stay out.
    func forget(table: String, floor: LSN) throws {
        try record(table: table, floor: floor)
        try connection.execute("UPDATE _cdc_sink_tables SET schema_version = 0 WHERE tbl = ?", [.string(table)])
        try connection.execute("DELETE FROM _cdc_sink_schemas WHERE tbl = ?", [.string(table)])
        tables[table]?.schemaVersion = 0
        sourceSchemas[table] = nil
    }

    /// Moves a renamed table's bookkeeping (row versions, floor, schema) to its new name,
    /// replacing whatever the new name had (a dropped table's leftovers; its floor stays if
    /// higher), and leaves the old name only a floor at `lsn`, so replays of its older events
    /// stay out.
    /// - Complexity: O(version rows of both names).
    func move(table old: String, to new: String, at lsn: LSN) throws {
        guard old != new else { return }
        let newFloor = floor(of: new)
        try connection.execute("DELETE FROM _cdc_row_versions WHERE tbl = ?", [.string(new)])
        try connection.execute("UPDATE _cdc_row_versions SET tbl = ? WHERE tbl = ?", [.string(new), .string(old)])
        try connection.execute("DELETE FROM _cdc_sink_tables WHERE tbl = ?", [.string(new)])
        try connection.execute("UPDATE _cdc_sink_tables SET tbl = ? WHERE tbl = ?", [.string(new), .string(old)])
        try connection.execute("DELETE FROM _cdc_sink_schemas WHERE tbl = ?", [.string(new)])
        try connection.execute("UPDATE _cdc_sink_schemas SET tbl = ? WHERE tbl = ?", [.string(new), .string(old)])
        tables[new] = tables[old]
        tables[old] = nil
        sourceSchemas[new] = sourceSchemas[old].map { var s = $0; s.name = new; return s }
        sourceSchemas[old] = nil
        if let schema = sourceSchemas[new] {
            // The stored line still names the old table; write it under the new name.
            sourceSchemas[new] = nil
            try record(sourceSchema: schema)
        }
        try record(table: new, floor: newFloor)
        try record(table: old, floor: lsn)
    }
}
