import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// Streams the changes recorded by the change-table triggers into an event log.
///
/// Each batch is read in one read transaction on the source (snapshot isolation, so it holds
/// only whole source transactions), appended to the log in one durable transaction together
/// with the consumed change sequence, and only then deleted from `_cdc_changes`. A restart
/// resumes after the last durable batch; a new install id, or a new log, runs a snapshot
/// epoch instead (docs/change-table-capture.md).
///
/// Not `Sendable`: one owner drives it (the agent's main loop, or an embedding service).
public final class ChangeTableCapture {
    /// The source database path, as given.
    public let sourcePath: String
    /// What every event names as its source.
    public let source: SourceInfo
    /// The log events are appended to.
    public let log: EventLog
    public let logger: Logger
    /// Maximum change rows read per batch (and events per snapshot append).
    public let batchSize: Int

    let connection: Connection
    /// Held while the capture is open: one agent per source.
    private let agentLock: AgentLock
    var meta: ChangeTableMeta
    /// Current schema of each captured table id, stamped with its schema version.
    var schemas: [Int64: TableSchema] = [:]
    /// `PRAGMA schema_version` when ``schemas`` was last brought up to date.
    var knownSchemaVersion: Int64 = -1
    /// The highest `_cdc_changes.seq` whose events are durable in the log.
    var consumedSeq: Int64 = 0
    /// The open event group of the stream (see ``TransactionGrouping``), if any.
    var openGroup: OpenGroup?
    /// A snapshot epoch to run before streaming more: table ids (`nil`: all) and reason.
    var pendingSnapshot: PendingSnapshot?
    /// Snapshot requests being served between stream batches (ChangeTableCapture+Requests.swift):
    /// a chunked `requested` epoch, keyed requests, and the ids of both.
    var incrementalEpoch: IncrementalEpoch?
    var keyedRequests: [KeyedRequest] = []
    var queuedRequestIDs = Set<Int64>()
    /// Tests only: runs inside a request step's read transaction, after its snapshot rows
    /// were read and before they are appended (a writer committing there must win).
    var requestReadHook: (() throws -> Void)?
    var isStarted = false
    /// Whether `_cdc_meta` holds schema changes not yet announced in the log (set by the
    /// schema check, which reads them; ChangeTableCapture+SchemaEvents), so the capture loop
    /// does not query for them every round.
    var announcementsPending = false
    var changeRowStatement: (width: Int, statement: Statement)?
    var defaultValues: [String: SQLiteValue] = [:]
    var warnedUnknownTables = Set<Int64>()
    /// Captured tables whose rows the log holds from a snapshot epoch on (stored with every
    /// append as `tables`), so a table added to the capture while the agent was stopped is
    /// snapshotted when it starts, not only streamed from its next change.
    var snapshottedTableIDs = Set<Int64>()
    var totalEvents = 0
    var lastProgressLog = Date.distantPast

    struct OpenGroup: Hashable {
        var id: Int64
        var nextIndex: Int
    }

    struct PendingSnapshot: Hashable {
        var tableIDs: Set<Int64>?
        var reason: String
        var requestIDs: [Int64] = []
    }

    /// Opens the source for capture.
    ///
    /// - Parameters:
    ///   - sourcePath: the service database (must exist, be in WAL mode, have the triggers
    ///     installed, and be writable: the agent deletes consumed rows of its own table).
    ///   - log: the event log to append to (claimed for this source).
    ///   - service: the service name; `nil` uses the file name without extension.
    ///   - logger: progress and warnings.
    ///   - batchSize: change rows per batch, at least 1 (memory is bounded by it).
    ///   - busyTimeoutMilliseconds: how long to wait for the service's write lock.
    /// - Throws: ``SQLiteError`` (missing file, not a database, read-only, locked),
    ///   ``CaptureError/notInWALMode``, ``CaptureError/notInstalled``,
    ///   ``CaptureError/anotherAgentRunning`` (one agent per source: see ``AgentLock``),
    ///   ``EventLogError/sourceMismatch``.
    public init(sourcePath: String, log: EventLog, service: String?, logger: Logger, batchSize: Int = 5000, busyTimeoutMilliseconds: Int32 = 5000) throws {
        guard FileManager.default.fileExists(atPath: sourcePath) || sourcePath.hasPrefix("file:") else {
            throw SQLiteError(code: .cantOpen, message: "no such file", path: sourcePath)
        }
        self.sourcePath = sourcePath
        self.log = log
        self.logger = logger
        self.batchSize = max(1, batchSize)
        connection = try Connection(path: sourcePath, mode: .readWrite, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        let mode = try connection.journalMode()
        guard mode == "wal" else { throw CaptureError.notInWALMode(path: sourcePath, journalMode: mode) }
        guard let meta = try ChangeTableMeta.read(from: connection) else { throw CaptureError.notInstalled(path: sourcePath) }
        self.meta = meta
        // Fail now, with a clear message, when the agent could never delete consumed rows: a
        // read-only file or connection. A lock the service holds beyond the busy timeout is
        // not that: the capture waits for it (the daemon backs off and retries; --once
        // reports it when its own write is refused).
        do {
            try connection.execute("BEGIN IMMEDIATE")
            try connection.execute("ROLLBACK")
        } catch let error as SQLiteError where error.isBusy {
            logger.debug("\(sourcePath): the service holds its write lock; capture starts when it lets go")
        }
        agentLock = try AgentLock(sourcePath: sourcePath)
        let name = service ?? Self.defaultServiceName(forPath: sourcePath)
        source = SourceInfo(service: name, database: sourcePath, mode: .triggers)
        try log.claim(for: source)
    }

    /// Checks, without writing anything, that `sourcePath` can be captured: it exists, is a
    /// service database in WAL mode, and has the triggers installed. The agent calls it
    /// before it creates an event log, so a refused run leaves no file behind.
    /// - Throws: what ``init(sourcePath:log:service:logger:batchSize:busyTimeoutMilliseconds:)``
    ///   throws for the source.
    public static func preflight(sourcePath: String) throws {
        guard sourcePath.hasPrefix("file:") || FileManager.default.fileExists(atPath: sourcePath) else {
            throw SQLiteError(code: .cantOpen, message: "no such file", path: sourcePath)
        }
        let c = try Connection(path: sourcePath, mode: .readOnly)
        defer { try? c.close() }
        try checkIsServiceDatabase(c)
        let mode = try c.journalMode()
        guard mode == "wal" else { throw CaptureError.notInWALMode(path: sourcePath, journalMode: mode) }
        guard try c.tableExists(ChangeTableLayout.metaTable) else { throw CaptureError.notInstalled(path: sourcePath) }
    }

    /// Whether change-table capture is installed in `sourcePath` (its `_cdc_meta` exists);
    /// the agent's default mode is WAL capture unless it is.
    /// - Throws: ``SQLiteError`` when the file cannot be opened as a database.
    public static func isInstalled(sourcePath: String) throws -> Bool {
        let c = try Connection(path: sourcePath, mode: .readOnly)
        defer { try? c.close() }
        return try c.tableExists(ChangeTableLayout.metaTable)
    }

    /// Refuses an event log or a replica given as the service's database: install would put
    /// triggers on the toolkit's own tables.
    static func checkIsServiceDatabase(_ c: Connection) throws {
        if try c.tableExists("cdc_log_meta") { throw CaptureError.notASource(path: c.path, reason: "it is an event log (give it as --log)") }
        if try c.tableExists("_cdc_sink_offset") { throw CaptureError.notASource(path: c.path, reason: "it is a read-model replica written by cdc-sink") }
    }

    /// The service name the agent uses when none is given: the file name without extension.
    public static func defaultServiceName(forPath path: String) -> String {
        var p = path
        if p.hasPrefix("file:") { p = String(p.dropFirst(5).prefix { $0 != "?" }) }
        return URL(fileURLWithPath: p).deletingPathExtension().lastPathComponent
    }

    /// Closes the source connection (the log stays open; its owner closes it).
    public func close() throws {
        changeRowStatement = nil
        try connection.close()
        agentLock.release()
    }

    /// The highest change sequence whose events are durable in the log.
    public var consumedChangeSequence: Int64 { consumedSeq }

    /// Captures everything committed so far: runs a pending snapshot epoch, then streams
    /// batches until the change table holds nothing newer, checking `stop` between batches.
    /// (``AgentCapture/captureAvailable()`` is this with a `stop` that never says so.)
    ///
    /// - Returns: the number of events appended to the log.
    /// - Throws: ``SQLiteError``, ``EventLogError``, ``CaptureError``.
    /// - Complexity: O(changes); memory O(batch size).
    @discardableResult
    public func captureAvailable(until stop: () -> Bool) throws -> Int {
        if !isStarted { try start() }
        var appended = 0
        var rounds = 0
        while !stop() {
            rounds += 1
            try refreshSchemaIfChanged()
            appended += try announceSchemaChanges()
            if openGroup == nil {
                if pendingSnapshot == nil { try queueSnapshotRequests() }
                if let p = pendingSnapshot {
                    guard let n = try runSnapshot(p, until: stop) else { break }
                    appended += n
                    continue
                }
            }
            let (n, more) = try captureBatch()
            appended += n
            if !more {
                // Caught up: one step of request work (a chunk, or a keyed request), then
                // the stream again, so commits made meanwhile are not held back.
                guard pendingSnapshot == nil, openGroup == nil, !stop(), let step = try runRequestStep() else { break }
                appended += step
            }
        }
        totalEvents += appended
        if appended > 0 {
            logger.debug("\(sourcePath): appended \(appended) event(s) to \(log.path); change seq \(consumedSeq)")
            if Date().timeIntervalSince(lastProgressLog) >= 5 {
                lastProgressLog = Date()
                let lastLSN = try log.lastLSN()
                logger.info("\(sourcePath): \(totalEvents) event(s) captured so far; change seq \(consumedSeq), log LSN \(lastLSN)")
            }
        }
        return appended
    }

    /// Runs as a daemon: captures, then polls `PRAGMA data_version` of the source (and the
    /// log's, for snapshot requests) every `options.pollIntervalMilliseconds`, capturing
    /// whenever another connection committed. Returns when `stop()` is true, after the batch
    /// in hand.
    ///
    /// Between captures it applies the retention, appends a heartbeat when nothing was
    /// appended for `options.heartbeatIntervalMilliseconds`, and rewrites the metrics file
    /// (``DaemonOptions``). Busy errors (the service holding its write lock beyond the busy
    /// timeout) are retried with back-off instead of ending the loop, and recorded as the
    /// agent's last error, as is any error that ends it.
    ///
    /// - Throws: any other error of ``captureAvailable()``.
    public func run(until stop: () -> Bool, options: DaemonOptions) throws {
        var chores = DaemonChores(log: log, options: options, logger: logger)
        var lastSourceVersion: Int64 = -1
        var lastLogVersion: Int64 = -1
        defer { chores.writeMetricsIfDue(force: true) { try status() } }
        while !stop() {
            chores.writeMetricsIfDue { try status() }
            do {
                let sourceVersion = try connection.dataVersion()
                let logVersion = try log.changeCounter()
                if sourceVersion != lastSourceVersion || logVersion != lastLogVersion || pendingSnapshot != nil || chores.isBackingOff {
                    lastSourceVersion = sourceVersion
                    lastLogVersion = logVersion
                    chores.noteAppended(try captureAvailable(until: stop))
                }
                try chores.applyRetentionIfDue()
                chores.succeeded()
                try chores.heartbeatIfDue { try emitHeartbeat() }
            } catch let error as SQLiteError where error.isBusy {
                chores.backOff(after: error)
                continue
            } catch {
                chores.record(error)
                throw error
            }
            if stop() { break }
            usleep(UInt32(max(1, options.pollIntervalMilliseconds)) * 1000)
        }
        logger.info("\(sourcePath): stopping after \(totalEvents) event(s); change seq \(consumedSeq)")
    }

    // MARK: - Start and resume

    /// Brings the schemas up to date and decides between resuming and a snapshot epoch.
    func start() throws {
        try refreshSchemaIfChanged(force: true)
        let state = try log.agentState()
        let logLSN = try log.lastLSN()
        if case .integer(let covered)? = state["state_lsn"], covered > logLSN.rawValue {
            throw CaptureError.logBehindState(path: log.path, lastLSN: logLSN, stateLSN: LSN(covered))
        }
        var sourceMatchesLog = true
        if state["install_id"]?.stringValue == meta.installID,
           case .integer(let sourceLSN)? = try connection.scalar("SELECT value FROM \(ChangeTableLayout.metaTable) WHERE key = 'last_lsn'"),
           case .integer(let stateLSN)? = state["state_lsn"], case .integer(let batchStart)? = state["batch_start_lsn"],
           try !sourcePositionMatches(sourceLSN: sourceLSN, stateLSN: stateLSN, batchStart: batchStart, state: state) {
            // The source records the log position of its last consumed-row delete: the end of
            // the last batch, or (after a crash between append and delete) its start. Anything
            // else is a source from another time: restored from a backup.
            logger.warning("\(sourcePath): the source's capture position (LSN \(sourceLSN)) does not match this log's (LSN \(batchStart) or \(stateLSN)): another agent captured it into another log, or the database was restored from a backup; continuity is lost, running a resync snapshot epoch")
            sourceMatchesLog = false
        }
        if sourceMatchesLog, state["install_id"]?.stringValue == meta.installID, case .integer(let seq)? = state["change_seq"] {
            consumedSeq = seq
            if case .integer(let id)? = state["txn_id"], id > 0, case .integer(let index)? = state["txn_index"] {
                openGroup = OpenGroup(id: id, nextIndex: Int(index))
            }
            try deleteConsumedRows()
            let lastLSN = try log.lastLSN()
            logger.info("\(sourcePath): resuming after change seq \(seq) (log LSN \(lastLSN))")
            if let stored = state["tables"]?.stringValue {
                snapshottedTableIDs = Set(stored.split(separator: ",").compactMap { Int64($0) })
            } else {
                snapshottedTableIDs = Set(meta.tables.keys)
            }
            let unsnapshotted = Set(meta.tables.keys).subtracting(snapshottedTableIDs)
            if !unsnapshotted.isEmpty {
                let names = unsnapshotted.compactMap { meta.tables[$0]?.name }.sorted().map(quoteIdentifier)
                logger.info("\(sourcePath): table(s) \(names.joined(separator: ", ")) were added to the capture while the agent was stopped; running a snapshot epoch of them")
                pendingSnapshot = PendingSnapshot(tableIDs: unsnapshotted, reason: "initial")
            }
        } else if !sourceMatchesLog {
            snapshottedTableIDs = []
            pendingSnapshot = PendingSnapshot(tableIDs: nil, reason: "resync")
        } else {
            let isNewLog = try log.lastLSN() == .zero
            if isNewLog, case .integer(let last)? = try connection.scalar("SELECT value FROM \(ChangeTableLayout.metaTable) WHERE key = 'last_lsn'"), last > 0 {
                // A new log for a source that was captured before (the old log was lost or
                // replaced): continue its LSNs, so no LSN is ever reused and sinks built from
                // the old log see the new epoch as newer than anything they hold.
                try log.continueLSNs(after: LSN(last))
                logger.warning("\(sourcePath): new event log for a source captured before up to LSN \(last); continuing LSNs after it with an initial snapshot epoch")
            }
            // No agent state at all, but events: the first epoch was interrupted before its
            // end (state is written with its last batch). It runs again, still "initial"; the
            // unfinished one has no end marker, so sinks only upsert its rows.
            let interruptedFirstEpoch = !isNewLog && state["install_id"] == nil
            pendingSnapshot = PendingSnapshot(tableIDs: nil, reason: isNewLog || interruptedFirstEpoch ? "initial" : "resync")
            if interruptedFirstEpoch {
                logger.info("\(sourcePath): the first snapshot epoch was interrupted; running it again")
            } else if !isNewLog {
                logger.warning("\(sourcePath): the log's capture position belongs to another install; running a resync snapshot epoch")
            }
        }
        isStarted = true
    }

    /// Whether the source's recorded log position fits the log's state: the end of the last
    /// batch (its consumed rows were deleted), or its start with the batch's last change row
    /// still in place, unchanged (the agent stopped between append and delete). A source
    /// restored from a backup taken one batch earlier also sits at that start, but its row
    /// with that `seq`, if any, is another row: the fingerprint tells them apart.
    func sourcePositionMatches(sourceLSN: Int64, stateLSN: Int64, batchStart: Int64, state: [String: SQLiteValue]) throws -> Bool {
        if sourceLSN == stateLSN { return true }
        guard sourceLSN == batchStart else { return false }
        guard case .integer(let seq)? = state["change_seq"], case .integer(let expected)? = state["change_seq_fingerprint"] else { return true }
        return try fingerprintOfChangeRow(seq) == expected
    }

    /// Deletes change rows whose events are durable and records the log position they cover
    /// in `_cdc_meta` (`last_lsn`, and `consumed_seq` so that anyone reading the source can
    /// count the rows still pending), in one short write transaction on the agent's own tables.
    /// The row at the consumed position itself stays: `seq` is a plain rowid alias, and the
    /// highest row is what makes SQLite assign the next change `consumed + 1` rather than
    /// restart at 1 in an empty table (https://www.sqlite.org/autoinc.html).
    /// A new log continues LSNs after `last_lsn`, and a restart compares it with the log's
    /// state to notice a source restored from a backup (see ``start()``).
    func deleteConsumedRows() throws {
        // The position the log's agent state covers (not the log's end, which may hold a
        // partial epoch written without state): the restart check compares the two.
        var lastLSN = try log.lastLSN()
        if case .integer(let covered)? = try log.agentState()["state_lsn"] { lastLSN = LSN(covered) }
        try connection.transaction(.immediate) {
            try connection.execute("DELETE FROM \(ChangeTableLayout.changeTable) WHERE seq < ?", [.integer(consumedSeq)])
            try connection.execute("INSERT OR REPLACE INTO \(ChangeTableLayout.metaTable)(key, value) VALUES ('last_lsn', ?)", [.integer(lastLSN.rawValue)])
            try connection.execute("INSERT OR REPLACE INTO \(ChangeTableLayout.metaTable)(key, value) VALUES ('consumed_seq', ?)", [.integer(consumedSeq)])
        }
    }

    /// The agent state stored with a batch: the consumed sequence and the open group.
    /// - Parameter count: the events appended with this state; their LSNs continue the log.
    /// - Parameter startedAt: the log's last LSN before the first append of the work this
    ///   state covers (a snapshot epoch appends in several batches); `nil` for the current end.
    func stateForLog(changeSeq: Int64, appending count: Int, lastRowFingerprint: Int64, startedAt: LSN? = nil) throws -> [String: SQLiteValue] {
        let end = try log.lastLSN().rawValue + Int64(count)
        let batchStart = startedAt?.rawValue ?? (end - Int64(count))
        return [
            "batch_start_lsn": .integer(batchStart),
            "change_seq_fingerprint": .integer(lastRowFingerprint),
            "state_lsn": .integer(end),
            "install_id": .string(meta.installID),
            "change_seq": .integer(changeSeq),
            "txn_id": .integer(openGroup?.id ?? 0),
            "txn_index": .integer(Int64(openGroup?.nextIndex ?? 0)),
            "mode": .string(CaptureMode.triggers.rawValue),
            "tables": .string(snapshottedTableIDs.sorted().map(String.init).joined(separator: ",")),
        ]
    }

    /// Runs `body` in one read transaction whose schema matches ``schemas``; when the schema
    /// changed since, brings it up to date first and retries.
    func withConsistentRead<T>(_ body: () throws -> T) throws -> T {
        let attempts = 10
        for _ in 0..<attempts {
            try refreshSchemaIfChanged()
            try connection.execute("BEGIN DEFERRED")
            do {
                guard try connection.schemaVersion() == knownSchemaVersion else {
                    try connection.execute("ROLLBACK")
                    continue
                }
                let result = try body()
                try connection.execute("COMMIT")
                return result
            } catch {
                if !connection.isAutocommit { try? connection.execute("ROLLBACK") }
                throw error
            }
        }
        throw CaptureError.schemaUnstable(path: sourcePath, attempts: attempts)
    }
}
