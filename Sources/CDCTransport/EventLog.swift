import CDCCore
import CDCSQLite
import Foundation

/// The embedded event log: an SQLite file owned by the agent, the default transport.
///
/// Layout (format 2):
/// - `cdc_events(lsn INTEGER PRIMARY KEY, ts_ms, type, tbl, event, schema_at)`: one row per
///   event, the event's JSON line in `event`, except that the value of its `schema` member is
///   stored as a reference `{"$ref":N}` to `cdc_schemas` starting at byte `schema_at` (NULL
///   when the line is stored whole). Readers get the whole line back
///   (``readRaw(after:limit:)``). Every event of a table repeats its schema, which is most of
///   a change event's bytes.
/// - `cdc_schemas(id INTEGER PRIMARY KEY, json)`: each distinct schema object once.
///
/// Format 1 logs (whole lines, no `cdc_schemas`) are read and appended to as they are.
/// - `cdc_log_meta(key, value)`: format, source identity, and `pruned_through` (the highest
///   LSN removed by retention).
/// - `cdc_agent_state(key, value)`: the agent's capture position, written in the same
///   transaction as the events it covers, so an agent restarted after a crash resumes
///   exactly after the last durable event.
/// - `cdc_snapshot_requests`: sinks that fell behind retention, and operators
///   (`cdc-agent resnapshot`), ask the agent for snapshot events here
///   (EventLog+SnapshotRequests.swift; the `keys` column is added to older logs on first use).
/// - `cdc_sink_acks(sink, lsn, event_ts_ms, acked_ms)`: how far each sink has applied, as
///   the sinks report it (EventLog+Acknowledgements.swift); absent from logs made before it,
///   until a sink acknowledges.
/// - `cdc_events_markers`: a partial index of the snapshot markers (EventLog+Progress.swift).
///
/// The file is in WAL mode with `synchronous=FULL`: an append that returned is on disk.
/// One writer (the agent); any number of readers.
public final class EventLog {
    /// The current on-disk format.
    public static let formatVersion: Int64 = 2
    /// The formats this build reads and appends to.
    public static let readableFormats: ClosedRange<Int64> = 1...2

    public let path: String
    let connection: Connection
    /// The prepared inserts of ``append(_:state:)``, by the number of rows they insert.
    private var appendStatements: [Int: Statement] = [:]
    private var stateStatement: Statement?
    /// Agent-state values this connection wrote and saw committed. The agent is the only
    /// writer of its state (one agent per log: `AgentLock`), so a key whose value is unchanged
    /// need not be written again: an append stores a dozen keys, most the same as last time.
    private var committedState: [String: SQLiteValue] = [:]
    /// What the transaction in progress wrote to the state.
    private var pendingState: [String: SQLiteValue] = [:]
    /// Decodes what ``read(after:limit:)`` returns; its schema cache lives as long as the log.
    private let decoder = EventDecoder()
    /// Encodes what ``append(_:state:)`` stores.
    let encoder = EventEncoder()
    /// This log's format (1: whole lines; 2: schema references).
    private(set) var format: Int64 = formatVersion
    /// Schema references known to this connection (see EventLog+SchemaReferences.swift).
    var schemaReferences = SchemaReferenceCache()

    /// Opens (and with `create`, creates) an event log.
    ///
    /// - Parameters:
    ///   - path: the log file.
    ///   - create: create the file and its tables when missing (the agent); readers pass
    ///     `false` and get an error for a missing file.
    ///   - readOnly: open without write access (sinks that only read).
    /// - Throws: ``SQLiteError`` when the file cannot be opened, ``EventLogError/notAnEventLog``
    ///   when it is an SQLite file of another kind.
    public init(path: String, create: Bool = false, readOnly: Bool = false) throws {
        self.path = path
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        if exists, isFolder.boolValue { throw EventLogError.notAnEventLog(path: path, reason: "it is a folder") }
        let isEmptyFile = exists && ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) == 0
        if create, !readOnly, !exists || isEmptyFile {
            try Self.writing(path) { try Self.createLog(at: path, inPlace: isEmptyFile) }
        } else if !exists {
            throw SQLiteError(code: .cantOpen, message: "no such file", path: path)
        }
        connection = try Connection(path: path, mode: readOnly ? .readOnly : .readWrite)
        // Validate before changing anything: a file that is not a log is left as it was.
        try validate()
        if !readOnly {
            try writing {
                if try connection.journalMode() != "wal" {
                    try connection.execute("PRAGMA journal_mode=WAL")
                }
                try connection.execute("PRAGMA synchronous=FULL")
            }
        }
    }

    /// Runs a write to the log, turning a full disk or a read-only file into
    /// ``EventLogError/diskFull`` or ``EventLogError/readOnly``: the one-line error the
    /// operator acts on, naming the log, instead of SQLite's "disk I/O error".
    /// - Throws: what `body` throws, storage failures mapped.
    func writing<T>(_ body: () throws -> T) throws -> T {
        try Self.writing(path, body)
    }

    static func writing<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw EventLogError.mappingStorageFailure(error, path: path)
        }
    }

    /// Creates a log so that no reader ever sees it half made: the tables are built in a
    /// temporary file that is then linked into place (`link(2)` fails rather than replace a
    /// log another agent created meanwhile). The log holds the service's data, so it is
    /// readable by its owner only (mode 0600).
    private static func createLog(at path: String, inPlace: Bool) throws {
        let target = inPlace ? path : path + ".creating-\(getpid())"
        if !inPlace { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(target + suffix) } }
        let c = try Connection(path: target, mode: .create)
        chmod(target, 0o600)
        try c.transaction {
            try c.execute("""
                CREATE TABLE cdc_log_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                CREATE TABLE cdc_events(lsn INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, type TEXT NOT NULL, tbl TEXT, event TEXT NOT NULL, schema_at INTEGER);
                CREATE TABLE cdc_schemas(id INTEGER PRIMARY KEY, json TEXT NOT NULL);
                CREATE INDEX cdc_events_ts ON cdc_events(ts_ms);
                CREATE TABLE cdc_agent_state(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                CREATE TABLE cdc_snapshot_requests(id INTEGER PRIMARY KEY, requested_ms INTEGER NOT NULL, requester TEXT NOT NULL, tables TEXT NOT NULL, served_epoch INTEGER, keys TEXT);
                """)
            try c.execute(acknowledgementsTableSQL)
            try c.execute(markerIndexSQL)
            try c.execute("INSERT INTO cdc_log_meta VALUES ('format', ?), ('pruned_through', 0), ('created_ms', ?), ('log_id', ?)",
                          [.integer(formatVersion), .integer(nowMilliseconds()), .string(makeLogID())])
        }
        try c.execute("PRAGMA journal_mode=WAL")
        try c.close()
        guard !inPlace else { return }
        defer { unlink(target) }
        if link(target, path) != 0 {
            switch errno {
            case EEXIST:
                break  // another agent created the log meanwhile: open that one
            case EPERM, ENOTSUP, EXDEV:
                // A file system without hard links: rename, which replaces only a log created
                // in the same instant (the other agent then fails on the agent lock anyway).
                if !FileManager.default.fileExists(atPath: path), rename(target, path) != 0 {
                    throw SQLiteError(code: .cantOpen, message: String(cString: strerror(errno)), path: path)
                }
            default:
                throw SQLiteError(code: .cantOpen, message: String(cString: strerror(errno)), path: path)
            }
        }
    }

    private func validate() throws {
        guard try connection.tableExists("cdc_log_meta") else {
            let tables = try connection.userTableNames()
            throw EventLogError.notAnEventLog(path: path, reason: tables.isEmpty ? "it has no event tables" : "it holds other tables: \(tables.prefix(3).joined(separator: ", "))")
        }
        guard case .integer(let format)? = try connection.scalar("SELECT value FROM cdc_log_meta WHERE key = 'format'") else {
            throw EventLogError.notAnEventLog(path: path, reason: "format marker missing")
        }
        guard Self.readableFormats.contains(format) else {
            throw EventLogError.notAnEventLog(path: path, reason: "format \(format), this build reads formats \(Self.readableFormats.lowerBound)–\(Self.readableFormats.upperBound)")
        }
        self.format = format
        if format >= 2, try !connection.tableExists("cdc_schemas") {
            throw EventLogError.notAnEventLog(path: path, reason: "table cdc_schemas is missing")
        }
        for table in ["cdc_events", "cdc_agent_state", "cdc_snapshot_requests"] where try !connection.tableExists(table) {
            throw EventLogError.notAnEventLog(path: path, reason: "table \(table) is missing")
        }
    }

    /// A new log's identity: 128 random bits, hex.
    static func makeLogID() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max, using: &g)) }.joined()
    }

    /// This log's identity, made when the file was created. A sink remembers it, so a log
    /// deleted and created again (whose LSNs may restart) is never mistaken for the old one.
    public func logID() throws -> String {
        if let id = try connection.scalar("SELECT value FROM cdc_log_meta WHERE key = 'log_id'")?.stringValue { return id }
        // A log from before log ids: give it one now when it can be written.
        let id = Self.makeLogID()
        try connection.execute("INSERT OR IGNORE INTO cdc_log_meta VALUES ('log_id', ?)", [.string(id)])
        return try connection.scalar("SELECT value FROM cdc_log_meta WHERE key = 'log_id'")?.stringValue ?? id
    }

    /// Makes a new, empty log continue a source's LSNs: its first event will have an LSN
    /// above `lsn`, and readers asking for anything at or below it get
    /// ``EventLogError/offsetPruned`` (DESIGN.md: an LSN is never reused, also across a lost log).
    /// - Throws: ``EventLogError/nonIncreasingLSN`` when the log already holds events.
    public func continueLSNs(after lsn: LSN) throws {
        try writing { try connection.transaction {
            if case .integer(let last)? = try connection.scalar("SELECT max(lsn) FROM cdc_events") {
                throw EventLogError.nonIncreasingLSN(path: path, last: LSN(last), offending: lsn.next)
            }
            try connection.execute("UPDATE cdc_log_meta SET value = max(value, ?) WHERE key = 'pruned_through'", [.integer(lsn.rawValue)])
        } }
    }

    /// The current time, UTC milliseconds since 1970.
    public static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// Closes the underlying connection.
    public func close() throws {
        appendStatements = [:]
        stateStatement = nil
        try connection.close()
    }

    // MARK: - Source identity

    /// Binds the log to one source (`service` and database path) on first use, and checks
    /// it on every later one.
    /// - Throws: ``EventLogError/sourceMismatch`` when the log belongs to another source.
    public func claim(for source: SourceInfo) throws {
        let identity = "\(source.service) (\(Self.canonicalSourcePath(source.database)))"
        try writing { try connection.transaction {
            if let existing = try connection.scalar("SELECT value FROM cdc_log_meta WHERE key = 'source'")?.stringValue {
                guard existing == identity else { throw EventLogError.sourceMismatch(path: path, expected: identity, found: existing) }
            } else {
                try connection.execute("INSERT INTO cdc_log_meta VALUES ('source', ?), ('source_service', ?)", [.string(identity), .string(source.service)])
            }
        } }
        // Only the agent claims a log, and only it needs to find the newest epoch marker fast.
        try writing {
            try addMarkerIndexIfMissing()
            try addRequestKeysColumnIfMissing()
        }
    }

    /// The service name of the source this log belongs to, once an agent claimed it.
    public func sourceService() throws -> String? {
        try connection.scalar("SELECT value FROM cdc_log_meta WHERE key = 'source_service'")?.stringValue
    }

    /// The source database this log belongs to, as ``canonicalSourcePath(_:)`` of the path
    /// the agent was given, once an agent claimed it.
    /// - Throws: ``SQLiteError``.
    public func sourceDatabasePath() throws -> String? {
        guard let service = try sourceService(),
              let identity = try connection.scalar("SELECT value FROM cdc_log_meta WHERE key = 'source'")?.stringValue,
              identity.hasPrefix(service + " ("), identity.hasSuffix(")") else { return nil }
        return String(identity.dropFirst(service.count + 2).dropLast())
    }

    /// A source path as the log records it: absolute, standardized, symlinks resolved, so
    /// `st/src.db`, `./st/src.db` and the absolute path are one source (a `file:` URI is kept
    /// as given).
    public static func canonicalSourcePath(_ path: String) -> String {
        path.hasPrefix("file:") ? path : URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    // MARK: - Writing

    /// The LSN of the newest event, or the highest LSN ever pruned, or 0 for a new log.
    public func lastLSN() throws -> LSN {
        if case .integer(let v)? = try connection.scalar("SELECT max(lsn) FROM cdc_events") { return LSN(v) }
        return try prunedThrough()
    }

    /// Appends a batch durably in one transaction, together with the agent's capture state.
    ///
    /// - Parameters:
    ///   - events: events with consecutive LSNs starting right after ``lastLSN()``.
    ///   - state: key/value pairs of the agent's position covering exactly these events
    ///     (for example the change-table sequence consumed); stored in the same transaction.
    ///   - servedRequests: snapshot requests (ids in `cdc_snapshot_requests`) that the epoch
    ///     starting at LSN `epoch` serves, marked in the same transaction: the append that ends
    ///     an epoch and the mark are one, so a crash never leaves a finished epoch with its
    ///     request still pending (which made every restart serve it again).
    /// - Throws: ``EventLogError/nonIncreasingLSN``; ``EventLogError/diskFull`` or
    ///   ``EventLogError/readOnly`` when the log cannot be written (the transaction is rolled
    ///   back: neither the events nor the state are stored); ``SQLiteError``.
    /// - Complexity: O(events + served requests).
    public func append(_ events: [Event], state: [String: SQLiteValue] = [:], servedRequests: (ids: [Int64], epoch: LSN)? = nil) throws {
        do {
            try writing { try appendInTransaction(events, state: state, servedRequests: servedRequests) }
            schemaReferences.commit()
            committedState.merge(pendingState) { $1 }
            pendingState = [:]
        } catch {
            // A failed append rolled back the schemas it stored too; forget them.
            schemaReferences.forgetUnsaved()
            pendingState = [:]
            throw error
        }
    }

    /// Events per multi-row `INSERT`: one statement run inserts this many rows, which spares
    /// SQLite's per-statement work per row (opening cursors, seeking to the end of the table
    /// and of its index). Shorter batches and the tail of a batch go in one by one.
    static let rowsPerInsert = 16

    private func appendInTransaction(_ events: [Event], state: [String: SQLiteValue], servedRequests: (ids: [Int64], epoch: LSN)?) throws {
        try connection.transaction {
            var last = try lastLSN()
            let columns = format >= 2 ? 6 : 5
            let single = try insertStatement(rows: 1)
            let multiple = events.count >= Self.rowsPerInsert ? try insertStatement(rows: Self.rowsPerInsert) : nil
            // Events come in runs of one table: its schema's reference is looked up once a
            // run, not once an event (valid for this transaction: a rollback may free ids).
            var lastReference: (json: [UInt8], reference: [UInt8])?
            let placeholder = { (json: [UInt8]) throws -> [UInt8] in
                // Usually the encoder's cached array itself, so `==` stops at its identity.
                if let lastReference, lastReference.json == json { return lastReference.reference }
                let reference = try self.schemaReference(for: json)
                lastReference = (json, reference)
                return reference
            }
            // Through a buffer pointer, so each event is borrowed where it is, not copied.
            try events.withUnsafeBufferPointer { events in
                var i = 0
                while i < events.count {
                    let (insert, rows) = if let multiple, events.count - i >= Self.rowsPerInsert { (multiple, Self.rowsPerInsert) } else { (single, 1) }
                    for j in 0..<rows {
                        let lsn = events[i + j].lsn
                        // Consecutive, so a reader can tell a lost event from retention (see readRaw).
                        guard lsn == last.next else { throw EventLogError.nonIncreasingLSN(path: path, last: last, offending: lsn) }
                        last = lsn
                        try bind(events[i + j], to: insert, from: j * columns + 1, schemaPlaceholder: placeholder)
                    }
                    try insert.run()
                    i += rows
                }
            }
            try writeState(state)
            if let servedRequests {
                for id in servedRequests.ids {
                    try connection.execute("UPDATE cdc_snapshot_requests SET served_epoch = ? WHERE id = ?", [.integer(servedRequests.epoch.rawValue), .integer(id)])
                }
            }
        }
    }

    /// The prepared `INSERT` of `rows` events (kept for the next append).
    private func insertStatement(rows: Int) throws -> Statement {
        if let statement = appendStatements[rows] { return statement }
        let row = format >= 2 ? "(?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?)"
        let statement = try connection.prepare((format >= 2
            ? "INSERT INTO cdc_events(lsn, ts_ms, type, tbl, event, schema_at) VALUES "
            : "INSERT INTO cdc_events(lsn, ts_ms, type, tbl, event) VALUES ")
            + repeatElement(row, count: rows).joined(separator: ", "))
        appendStatements[rows] = statement
        return statement
    }

    /// Binds one event's columns to the parameters of `insert` from the 1-based `first` on,
    /// straight from the event: no row array, no byte arrays.
    private func bind(_ e: Event, to insert: Statement, from first: Int, schemaPlaceholder placeholder: ([UInt8]) throws -> [UInt8]) throws {
        try insert.bind(int64: e.lsn.rawValue, at: first)
        try insert.bind(int64: e.timestampMilliseconds, at: first + 1)
        try insert.bind(text: e.typeName, at: first + 2)
        if let table = e.tableName { try insert.bind(text: table, at: first + 3) } else { try insert.bindNull(at: first + 3) }
        if format >= 2 {
            // SQLite copies the line as it is bound, so the encoder may reuse its buffer next.
            try encoder.withEncodedLine(e, schemaPlaceholder: placeholder) { line, at in
                try insert.bind(textBytes: line, at: first + 4)
                if let at { try insert.bind(int64: Int64(at), at: first + 5) } else { try insert.bindNull(at: first + 5) }
            }
        } else {
            try encoder.encode(e).withUnsafeBytes { try insert.bind(textBytes: $0, at: first + 4) }
        }
    }

    private func writeState(_ state: [String: SQLiteValue]) throws {
        guard !state.isEmpty else { return }
        if stateStatement == nil {
            stateStatement = try connection.prepare("INSERT OR REPLACE INTO cdc_agent_state(key, value) VALUES (?, ?)")
        }
        for (k, v) in state.sorted(by: { $0.key < $1.key }) where committedState[k] != v {
            try stateStatement?.run([.string(k), v])
            pendingState[k] = v
        }
    }

    /// Stores agent state without events (for example after an idle poll).
    /// - Throws: ``EventLogError/diskFull``, ``EventLogError/readOnly``, ``SQLiteError``.
    public func saveState(_ state: [String: SQLiteValue]) throws {
        do {
            try writing { try connection.transaction { try writeState(state) } }
            committedState.merge(pendingState) { $1 }
            pendingState = [:]
        } catch {
            pendingState = [:]
            throw error
        }
    }

    /// The agent's stored capture state.
    public func agentState() throws -> [String: SQLiteValue] {
        var out: [String: SQLiteValue] = [:]
        for row in try connection.query("SELECT key, value FROM cdc_agent_state") {
            if let k = row[0].stringValue { out[k] = row[1] }
        }
        return out
    }

    // MARK: - Reading

    /// The highest LSN removed by retention (0 when nothing was pruned).
    public func prunedThrough() throws -> LSN {
        if case .integer(let v)? = try connection.scalar("SELECT value FROM cdc_log_meta WHERE key = 'pruned_through'") { return LSN(v) }
        return .zero
    }

    /// Reads up to `limit` events with LSN greater than `offset`, in LSN order.
    ///
    /// - Throws: ``EventLogError/offsetPruned`` when events after `offset` were already
    ///   removed by retention; ``EventLogError/corruptEvent`` for a row that is not a valid
    ///   event (naming its LSN).
    /// - Complexity: O(limit) plus a b-tree seek.
    public func read(after offset: LSN, limit: Int) throws -> [Event] {
        try decode(readRaw(after: offset, limit: limit), with: decoder)
    }

    /// Decodes rows from ``readRaw(after:limit:)`` with `decoder`, checking that each line's
    /// LSN is the row's; for readers that decode on another thread than the one that reads.
    /// - Throws: ``EventLogError/corruptEvent`` naming the LSN of the first bad row.
    public func decode(_ rows: [(LSN, [UInt8])], with decoder: EventDecoder) throws -> [Event] {
        try rows.map { lsn, bytes in
            do {
                let e = try decoder.decode(bytes)
                guard e.lsn == lsn else { throw EventLogError.corruptEvent(path: path, lsn: lsn, reason: "its JSON says LSN \(e.lsn)") }
                return e
            } catch let e as EventDecodingError {
                throw EventLogError.corruptEvent(path: path, lsn: lsn, reason: e.description)
            }
        }
    }

    /// Reads stored JSON lines without decoding them (for tools that copy events).
    public func readRaw(after offset: LSN, limit: Int) throws -> [(LSN, [UInt8])] {
        // One read transaction, so the pruning check and the rows come from one snapshot.
        try connection.transaction(.deferred) {
            let pruned = try prunedThrough()
            guard offset >= pruned else { throw EventLogError.offsetPruned(path: path, requested: offset, prunedThrough: pruned) }
            let statement = try connection.prepare(format >= 2
                ? "SELECT lsn, event, schema_at FROM cdc_events WHERE lsn > ? ORDER BY lsn LIMIT ?"
                : "SELECT lsn, event FROM cdc_events WHERE lsn > ? ORDER BY lsn LIMIT ?")
            try statement.bind([.integer(offset.rawValue), .integer(Int64(limit))])
            var out: [(LSN, [UInt8])] = []
            // The agent gives consecutive LSNs and retention only removes a prefix, so the
            // rows after an offset are exactly offset+1, offset+2, …: a hole is a lost event.
            var expected = offset.rawValue + 1
            while try statement.step() {
                guard case .integer(let lsn) = statement.value(at: 0) else { throw EventLogError.corruptEvent(path: path, lsn: .zero, reason: "an LSN is not an integer") }
                guard lsn == expected else {
                    throw EventLogError.corruptEvent(path: path, lsn: LSN(expected), reason: "it is missing from the log (the next stored event has LSN \(lsn)); events were deleted by hand, or the file is damaged")
                }
                expected += 1
                switch statement.value(at: 1) {
                case .text(let b), .blob(let b):
                    let at = format >= 2 ? statement.value(at: 2) : .null
                    out.append((LSN(lsn), try expandSchemaReference(in: b, at: at, lsn: LSN(lsn))))
                default: throw EventLogError.corruptEvent(path: path, lsn: LSN(lsn), reason: "the event is not text")
                }
            }
            return out
        }
    }

    /// A number that changes whenever another connection commits to the log
    /// (`PRAGMA data_version`); followers poll it cheaply to wake on new events.
    public func changeCounter() throws -> Int64 { try connection.dataVersion() }

    // MARK: - Retention

    /// Removes old events: those older than `maximumAgeMilliseconds`, then the oldest until
    /// the events' stored size is at most `maximumBytes`. Records `pruned_through` in the
    /// same transaction, so readers behind it get ``EventLogError/offsetPruned``.
    ///
    /// - Parameters:
    ///   - maximumAgeMilliseconds: keep events newer than this (by `ts_ms`); `nil` for no limit.
    ///   - maximumBytes: keep at most this many bytes of event JSON; `nil` for no limit.
    ///   - now: the current time, UTC milliseconds (a parameter so tests can move time).
    /// - Returns: the number of events removed.
    @discardableResult
    public func prune(maximumAgeMilliseconds: Int64?, maximumBytes: Int64?, now: Int64 = EventLog.nowMilliseconds()) throws -> Int {
        try writing { try connection.transaction {
            var through: Int64 = try prunedThrough().rawValue
            if let age = maximumAgeMilliseconds,
               case .integer(let lsn)? = try connection.scalar("SELECT max(lsn) FROM cdc_events WHERE ts_ms < ?", [.integer(now - age)]) {
                through = max(through, lsn)
            }
            if let maxBytes = maximumBytes {
                // Walk from the newest event back until the budget is spent; everything older goes.
                let statement = try connection.prepare("SELECT lsn, length(event) FROM cdc_events WHERE lsn > ? ORDER BY lsn DESC")
                try statement.bind([.integer(through)])
                var total: Int64 = 0
                while try statement.step() {
                    guard case .integer(let lsn) = statement.value(at: 0), case .integer(let n) = statement.value(at: 1) else { continue }
                    total += n
                    if total > maxBytes { through = max(through, lsn); break }
                }
            }
            let removed = try connection.execute("DELETE FROM cdc_events WHERE lsn <= ?", [.integer(through)])
            try connection.execute("UPDATE cdc_log_meta SET value = ? WHERE key = 'pruned_through'", [.integer(through)])
            return Int(removed)
        } }
    }
}
