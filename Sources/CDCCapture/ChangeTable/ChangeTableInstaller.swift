import CDCCore
import CDCSQLite

/// What ``ChangeTableInstaller/install(tables:)`` did.
public struct InstallReport: Hashable, Sendable {
    /// The install id (128-bit random, hex); a new one means a new install, so the agent
    /// knows continuity was lost and resyncs.
    public var installID: String
    /// Whether this call created the meta and change tables (false: they existed).
    public var isNewInstall: Bool
    /// Every table captured after the call, in name order.
    public var capturedTables: [String]
    /// Tables whose triggers this call created.
    public var addedTables: [String]
    /// Tables whose triggers this call removed (left out of `tables`).
    public var removedTables: [String]
    /// Tables whose triggers were rebuilt (columns changed, or triggers were missing).
    public var rebuiltTables: [String]
    /// Number of before (and of after) image columns in `_cdc_changes`.
    public var changeTableWidth: Int
    /// Captured tables with a UNIQUE index besides the primary key, by table: the index
    /// names. A conflict on such an index resolved by REPLACE deletes a row without firing a
    /// delete trigger unless the writer set `PRAGMA recursive_triggers=ON`
    /// (https://www.sqlite.org/lang_conflict.html, "REPLACE").
    public var replaceConflictIndexes: [String: [String]] = [:]
}

/// Installs and removes the change-table capture in a source database: `_cdc_meta`,
/// `_cdc_changes` and three triggers per captured table (docs/change-table-capture.md).
///
/// Every call runs in one `BEGIN IMMEDIATE` transaction, so a failure leaves the schema as
/// it was (DESIGN.md promise 6). Both calls are idempotent.
public struct ChangeTableInstaller {
    /// The source database connection (read-write).
    public let connection: Connection
    public let logger: Logger

    public init(connection: Connection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Installs capture for `tables`, or for every user table when `nil`.
    ///
    /// On an existing install, tables left out lose their triggers, new ones get triggers,
    /// and tables whose columns changed get a new trigger generation. The change table is
    /// widened to the widest captured table.
    ///
    /// - Parameter tables: exact table names, or `nil` for all user tables.
    /// - Returns: what was done.
    /// - Throws: ``SchemaError/noSuchTable`` for an unknown table,
    ///   ``SchemaError/noAddressableKey``, ``CaptureError/reservedTable``,
    ///   ``CaptureError/notInWALMode``, ``SQLiteError`` (busy, read-only, not a database).
    ///   Nothing is changed when it throws.
    @discardableResult
    public func install(tables: [String]?) throws -> InstallReport {
        // Refuse before changing anything: capture on a rollback-journal database would block
        // the service's writers with every read.
        try ChangeTableCapture.checkIsServiceDatabase(connection)
        let mode = try connection.journalMode()
        guard mode == "wal" else { throw CaptureError.notInWALMode(path: connection.path, journalMode: mode) }
        return try connection.transaction(.immediate) {
            var requested: [String] = []
            for name in try tables ?? connection.userTableNames() where !requested.contains(name) {
                requested.append(name)
            }
            var schemas: [String: TableSchema] = [:]
            for name in requested {
                let lower = name.lowercased()
                if lower.hasPrefix("sqlite_") || lower.hasPrefix("_cdc_") { throw CaptureError.reservedTable(name) }
                let schema = try connection.tableSchema(name)
                if schema.hasRowIDKey && schema.rowIDKeyName == nil { throw SchemaError.noAddressableKey(name) }
                schemas[name] = schema
            }
            var isNew = false
            var meta: ChangeTableMeta
            if let existing = try ChangeTableMeta.read(from: connection) {
                meta = existing
            } else {
                meta = try ChangeTableMeta.create(in: connection, installID: Self.makeInstallID())
                isNew = true
            }
            let triggers = try existingTriggerNames()
            var added: [String] = [], removed: [String] = [], rebuilt: [String] = []
            for record in meta.orderedTables where !requested.contains(record.name) {
                for sql in ChangeTableLayout.dropTriggerSQL(tableID: record.id, generation: record.generation) {
                    try connection.execute(sql)
                }
                meta.tables[record.id] = nil
                removed.append(record.name)
            }
            for name in requested {
                guard let schema = schemas[name] else { continue }
                if var record = meta.table(named: name) {
                    let shape = ChangeTableLayout.shapeText(of: schema)
                    let complete = ChangeTableLayout.TriggerKind.allCases.allSatisfy {
                        triggers.contains(ChangeTableLayout.triggerName(tableID: record.id, generation: record.generation, kind: $0))
                    }
                    guard shape != record.shape || !complete else { continue }
                    if shape != record.shape { record.schemaVersion += 1 }
                    try rebuildTriggers(&record, schema: schema, meta: &meta)
                    rebuilt.append(name)
                } else {
                    var record = CapturedTableRecord(id: meta.nextTableID, name: name, generation: 0, schemaVersion: 1,
                                                     shape: "", columnCountByGeneration: [:])
                    meta.nextTableID += 1
                    try rebuildTriggers(&record, schema: schema, meta: &meta)
                    added.append(name)
                }
            }
            try meta.write(to: connection)
            var replaceRisks: [String: [String]] = [:]
            for name in requested {
                if let schema = schemas[name] { warnAboutKeyQuirks(name, schema) }
                let indexes = try uniqueIndexesBesidesPrimaryKey(of: name)
                guard !indexes.isEmpty else { continue }
                replaceRisks[name] = indexes
                logger.warning("table \(quoteIdentifier(name)) has UNIQUE index(es) \(indexes.joined(separator: ", ")): a REPLACE that resolves a conflict on them deletes a row without firing triggers, so that delete is not captured unless the service's connections set PRAGMA recursive_triggers=ON (replica-check reports such rows as extra); see docs/change-table-capture.md")
            }
            if requested.isEmpty { logger.warning("\(connection.path): no tables to capture; install again once the service has tables") }
            logger.info("\(connection.path): capturing \(requested.count) table(s); added \(added.count), removed \(removed.count), rebuilt \(rebuilt.count)")
            return InstallReport(installID: meta.installID, isNewInstall: isNew,
                                 capturedTables: meta.orderedTables.map(\.name).sorted(),
                                 addedTables: added, removedTables: removed, rebuiltTables: rebuilt,
                                 changeTableWidth: meta.width, replaceConflictIndexes: replaceRisks)
        }
    }

    /// Warns about primary keys whose SQLite quirks the capture cannot make exact: a rowid
    /// table's PRIMARY KEY other than INTEGER PRIMARY KEY admits NULLs (many rows may then
    /// share the key NULL), and a key column with a non-BINARY collation lets REPLACE remove
    /// a row whose key bytes differ (for example 'a' for 'A' under NOCASE).
    /// Source: https://www.sqlite.org/lang_createtable.html#the_primary_key
    private func warnAboutKeyQuirks(_ name: String, _ schema: TableSchema) {
        let keys = schema.keyColumnIndices.map { schema.columns[$0] }
        guard !keys.isEmpty else { return }
        let isRowIDAlias = keys.count == 1 && keys[0].declaredType.uppercased() == "INTEGER" && !schema.isWithoutRowID
        if !schema.isWithoutRowID, !isRowIDAlias, keys.contains(where: { !$0.isNotNull }) {
            logger.warning("table \(quoteIdentifier(name)): its PRIMARY KEY columns may hold NULL (SQLite allows it in rowid tables), and rows with a NULL key cannot be told apart in events; declare the key columns NOT NULL")
        }
        let collated = (try? connection.query("SELECT name, coll FROM pragma_index_xinfo((SELECT name FROM pragma_index_list(?) WHERE origin = 'pk')) WHERE key = 1 AND coll <> 'BINARY'", [.string(name)])) ?? []
        if !collated.isEmpty {
            let cols = collated.compactMap { $0.first?.stringValue }.map(quoteIdentifier).joined(separator: ", ")
            logger.warning("table \(quoteIdentifier(name)): key column(s) \(cols) use a non-BINARY collation; a REPLACE that matches a row by collation removes it without a delete trigger unless the service sets PRAGMA recursive_triggers=ON")
        }
    }

    /// Names of a table's UNIQUE indexes other than the one behind its primary key
    /// (`PRAGMA index_list`: `origin` is `u` for a UNIQUE constraint, `c` for CREATE UNIQUE
    /// INDEX, `pk` for the primary key). Source: https://www.sqlite.org/pragma.html#pragma_index_list
    private func uniqueIndexesBesidesPrimaryKey(of table: String) throws -> [String] {
        try connection.query("SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin <> 'pk' ORDER BY name", [.string(table)])
            .compactMap { $0.first?.stringValue }
    }

    /// Removes everything ``install(tables:)`` added: the triggers, `_cdc_changes`,
    /// `_cdc_meta` and the `sqlite_sequence` row of `_cdc_changes`.
    ///
    /// SQLite does not let anyone drop `sqlite_sequence` itself; when install created it
    /// (the source had no AUTOINCREMENT table), it stays, empty of our row.
    /// - Returns: whether anything was installed.
    /// - Throws: ``SQLiteError``; nothing is changed when it throws.
    @discardableResult
    public func uninstall() throws -> Bool {
        try connection.transaction(.immediate) {
            let triggers = try existingTriggerNames()
            let hadMeta = try connection.tableExists(ChangeTableLayout.metaTable)
            let hadChanges = try connection.tableExists(ChangeTableLayout.changeTable)
            for name in triggers.sorted() { try connection.execute("DROP TRIGGER IF EXISTS \(quoteIdentifier(name))") }
            try connection.execute("DROP TABLE IF EXISTS \(ChangeTableLayout.changeTable)")
            try connection.execute("DROP TABLE IF EXISTS \(ChangeTableLayout.metaTable)")
            if try connection.tableExists("sqlite_sequence") {
                try connection.execute("DELETE FROM sqlite_sequence WHERE name = ?", [.string(ChangeTableLayout.changeTable)])
            }
            let did = hadMeta || hadChanges || !triggers.isEmpty
            logger.info("\(connection.path): \(did ? "removed change-table capture (\(triggers.count) triggers)" : "change-table capture was not installed")")
            return did
        }
    }

    /// Names of this layout's triggers present in the schema.
    func existingTriggerNames() throws -> Set<String> {
        Set(try connection.query("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
            .compactMap { $0[0].stringValue }
            .filter(ChangeTableLayout.isTriggerName))
    }

    /// Drops a table's current triggers and creates the next generation from `schema`,
    /// widening the change table when needed (inside the caller's write transaction).
    func rebuildTriggers(_ record: inout CapturedTableRecord, schema: TableSchema, meta: inout ChangeTableMeta) throws {
        try Self.rebuildTriggers(&record, schema: schema, meta: &meta, connection: connection)
    }

    static func rebuildTriggers(_ record: inout CapturedTableRecord, schema: TableSchema, meta: inout ChangeTableMeta, connection: Connection) throws {
        if record.generation > 0 {
            for sql in ChangeTableLayout.dropTriggerSQL(tableID: record.id, generation: record.generation) {
                try connection.execute(sql)
            }
        }
        for sql in ChangeTableLayout.widenSQL(from: meta.width, to: schema.columns.count) {
            try connection.execute(sql)
        }
        meta.width = max(meta.width, schema.columns.count)
        record.generation += 1
        record.shape = ChangeTableLayout.shapeText(of: schema)
        record.columnCountByGeneration[record.generation] = schema.columns.count
        for sql in try ChangeTableLayout.createTriggerSQL(for: schema, tableID: record.id, generation: record.generation) {
            try connection.execute(sql)
        }
        meta.tables[record.id] = record
    }

    /// A random 128-bit id as 32 lowercase hex digits.
    static func makeInstallID() -> String {
        var g = SystemRandomNumberGenerator()
        return [g.next() as UInt64, g.next() as UInt64]
            .map { v in let s = String(v, radix: 16); return String(repeating: "0", count: 16 - s.count) + s }
            .joined()
    }
}
