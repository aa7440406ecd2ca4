import CDCCore
import CDCSQLite
import CDCSinks
import CDCTransport
import Foundation

/// Compares a source database with the read model a sink built from it, exactly: every
/// captured table, through the projection, by key, value for value and storage class for
/// storage class (DESIGN.md promise 4), and reports the lag.
///
/// Both databases are opened read-only and each is read in one read transaction
/// (`BEGIN DEFERRED`, then SELECTs), so each side is one consistent snapshot and no write
/// lock is taken. In rollback-journal mode a reader still delays a writer's commit for as
/// long as the check runs; in WAL mode writers are never blocked.
///
/// ```swift
/// let report = try ReplicaChecker(sourcePath: "orders.db", replicaPath: "read.db",
///                                 projection: .identity, logPath: "events.db").run()
/// print(report.render(json: false))
/// ```
public struct ReplicaChecker: Sendable {
    /// The source database path.
    public var sourcePath: String
    /// The replica database path (written by `cdc-sink`).
    public var replicaPath: String
    /// Which tables and columns the read model keeps; ``Projection/identity`` for all.
    public var projection: Projection
    /// The embedded event log, for the source LSN; `nil` leaves it unknown.
    public var logPath: String?
    /// The most sample keys reported per table and kind (missing, extra, differing).
    public var maximumSampleKeys: Int
    /// The name this source has in the replica's `_cdc_sink_offset.source`; `nil` matches
    /// the service name the agent defaults to (the source file name without extension), the
    /// source path, or the only row.
    public var sourceName: String?

    /// - Parameters:
    ///   - sourcePath: the source database (opened read-only).
    ///   - replicaPath: the replica database (opened read-only).
    ///   - projection: the projection the sink applies.
    ///   - logPath: the event log, for the source LSN, or `nil`.
    ///   - maximumSampleKeys: sample keys per table and kind; negative counts as 0.
    ///   - sourceName: see ``sourceName``.
    public init(sourcePath: String, replicaPath: String, projection: Projection = .identity, logPath: String? = nil,
                maximumSampleKeys: Int = 5, sourceName: String? = nil) {
        self.sourcePath = sourcePath
        self.replicaPath = replicaPath
        self.projection = projection
        self.logPath = logPath
        self.maximumSampleKeys = max(0, maximumSampleKeys)
        self.sourceName = sourceName
    }

    /// Runs the check.
    ///
    /// - Returns: the report; a diverged replica is a report, not an error.
    /// - Throws: ``ReplicaCheckError`` (missing file, not a replica, no tables, unaddressable
    ///   key, keys out of order), ``ProjectionError`` (the projection does not fit the source),
    ///   ``SQLiteError`` (not a database, I/O, busy), ``EventLogError`` (not an event log).
    /// - Complexity: O(rows of every compared table, both sides); memory O(tables × sample keys).
    public func run() throws -> CheckReport {
        try requireFile(sourcePath, role: "source")
        try requireFile(replicaPath, role: "replica")
        if let logPath { try requireFile(logPath, role: "event log") }

        let replica = try Connection(path: replicaPath, mode: .readOnly)
        guard try replica.tableExists(SinkOffset.tableName) else { throw ReplicaCheckError.notAReplica(path: replicaPath) }
        let source = try Connection(path: sourcePath, mode: .readOnly)
        // The source must be a service database: a replica or an event log given as the
        // source would be compared with itself, or by its bookkeeping tables.
        if try source.tableExists(SinkOffset.tableName) {
            throw ReplicaCheckError.notASource(path: sourcePath, reason: "it is a read-model replica (it has \(SinkOffset.tableName))")
        }
        if try source.tableExists("cdc_log_meta") {
            throw ReplicaCheckError.notASource(path: sourcePath, reason: "it is an event log (pass it with --log)")
        }

        // The agent's position first: by the time the snapshots are read it can only have
        // moved on, so the lag shown is never larger than it was at any moment of the check.
        var sourceLSN: LSN?
        if let logPath {
            let log = try EventLog(path: logPath, readOnly: true)
            sourceLSN = try log.lastLSN()
            try log.close()
        }

        return try source.transaction(.deferred) {
            // A SELECT right after BEGIN starts each snapshot; the two start back to back.
            let pending = try Self.pendingChangeCount(source)
            return try replica.transaction(.deferred) {
                let applied = try SinkOffset.appliedLSN(in: replica, sourceName: sourceName, sourcePath: sourcePath)
                var tables: [TableReport] = []
                for rule in try rules(source: source) {
                    let projected = try ProjectedTable(rule: rule, sourceSchema: try source.tableSchema(rule.source))
                    tables.append(try TableComparison(projected: projected, source: source, replica: replica,
                                                      maximumSampleKeys: maximumSampleKeys).run())
                }
                return CheckReport(sourcePath: sourcePath, replicaPath: replicaPath, tables: tables, sourceLSN: sourceLSN,
                                   appliedLSN: applied, pendingChangeCount: pending, maximumSampleKeys: maximumSampleKeys)
            }
        }
    }

    /// The table rules to check, in source-name order: the captured tables (the source's
    /// `_cdc_meta` list, else every user table), narrowed to the projection's tables.
    /// - Throws: ``ProjectionError/unknownTable(_:)`` when the projection names a table that
    ///   is not captured, ``ReplicaCheckError`` when a listed table is missing or none is left.
    func rules(source: Connection) throws -> [Projection.TableRule] {
        let captured: [String]
        if let listed = try CapturedTables.names(in: source) {
            for name in listed where try !source.tableExists(name) {
                throw ReplicaCheckError.unknownSourceTable(name, path: sourcePath)
            }
            captured = listed
        } else {
            captured = try source.userTableNames()
        }
        if let named = projection.sourceTables {
            let capturedSet = Set(captured)
            for name in named where !capturedSet.contains(name) { throw ProjectionError.unknownTable(name) }
        }
        let rules = captured.sorted().compactMap { projection.rule(for: $0) }
        guard !rules.isEmpty else { throw ReplicaCheckError.noTables(path: sourcePath) }
        return rules
    }

    /// Change rows waiting in the source's change table, or `nil` when the source has none.
    ///
    /// The agent keeps the highest consumed row (it keeps `seq` growing) and records the
    /// consumed position in `_cdc_meta` under `consumed_seq` (docs/change-table-capture.md);
    /// rows above it are pending.
    /// - Throws: ``SQLiteError``.
    public static func pendingChangeCount(_ source: Connection) throws -> Int64? {
        guard try source.tableExists("_cdc_changes") else {
            _ = try source.scalar("SELECT count(*) FROM sqlite_schema") // starts the snapshot
            return nil
        }
        var consumed: Int64 = 0
        if try source.tableExists("_cdc_meta"),
           case .integer(let v)? = try source.scalar("SELECT value FROM _cdc_meta WHERE key = 'consumed_seq'") { consumed = v }
        guard case .integer(let n)? = try source.scalar("SELECT count(*) FROM _cdc_changes WHERE seq > ?", [.integer(consumed)]) else { return 0 }
        return n
    }

    private func requireFile(_ path: String, role: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ReplicaCheckError.noSuchFile(path: path, role: role)
        }
    }
}
