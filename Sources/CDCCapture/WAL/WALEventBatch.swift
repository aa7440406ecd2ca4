import CDCCore
import Dispatch
import CDCTransport

/// Events of WAL capture on their way to the log: numbered with consecutive LSNs, grouped by
/// source transaction, and appended in batches of at most `limit` events, so memory stays
/// bounded by the batch even for a transaction of millions of rows (docs/wal-capture.md,
/// "Memory").
///
/// A transaction larger than a batch is appended in several batches; only the batch that
/// ends a transaction stores the agent's position, so after a crash the whole transaction is
/// decoded again. Its first events are then in the log twice, with the second copies at
/// higher LSNs: replaying them gives the same rows (promise 3). The complete transactions
/// buffered before it are appended first with the position before it (when the caller gave
/// one, ``beginTransaction(timestampMilliseconds:stateBefore:)``), so a crash repeats only
/// the large transaction's events, never whole transactions before it.
final class WALEventBatch {
    let log: EventLog
    let source: SourceInfo
    let limit: Int
    let byteLimit: Int
    private(set) var buffer: [Event] = []
    private var bufferBytes = 0
    private(set) var appended = 0
    /// Calls of ``EventLog/append(_:state:)`` made.
    private(set) var appendCount = 0
    /// Seconds spent in ``EventLog/append(_:state:)`` (encoding and the durable insert).
    private(set) var appendSeconds = 0.0
    private var nextLSN: Int64
    private var group: (id: Int64, index: Int)?
    private var timestamp: Int64 = 0
    private var transactionStart: Int64 = 0
    /// The LSN of the current transaction's first event.
    var transactionStartLSN: Int64 { transactionStart }
    /// The agent state for the position right before the current transaction, if known.
    private var stateBefore: (() throws -> [String: SQLiteValue])?

    /// - Parameters:
    ///   - limit: events per append.
    ///   - byteLimit: about this many bytes of row images per append (whichever comes first).
    init(log: EventLog, source: SourceInfo, limit: Int, byteLimit: Int = .max) throws {
        self.log = log
        self.source = source
        self.limit = max(1, limit)
        self.byteLimit = max(1, byteLimit)
        nextLSN = try log.lastLSN().rawValue + 1
    }

    /// Starts the events of one source transaction, stamped with `timestampMilliseconds`.
    /// - Parameter stateBefore: makes the agent state of the position right before this
    ///   transaction; called (once at most) when the transaction outgrows the batch while
    ///   complete transactions are buffered before it. `nil` when no such state can be made
    ///   (then those go out without a position, as part of the first partial append).
    func beginTransaction(timestampMilliseconds: Int64, stateBefore: (() throws -> [String: SQLiteValue])? = nil) {
        group = nil
        timestamp = timestampMilliseconds
        transactionStart = nextLSN
        self.stateBefore = stateBefore
    }

    /// Appends the complete transactions buffered before the current one, with the position
    /// before it, when the current one outgrows the batch.
    private func appendCompleteTransactions() throws {
        guard group != nil, let stateBefore, let split = buffer.firstIndex(where: { $0.lsn.rawValue >= transactionStart }), split > 0 else { return }
        let complete = Array(buffer[..<split])
        let state = try stateBefore()
        let started = DispatchTime.now().uptimeNanoseconds
        try log.append(complete, state: state)
        appendSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        appended += complete.count
        appendCount += 1
        buffer.removeFirst(split)
        bufferBytes = buffer.reduce(0) { $0 + ($1.change.map { ($0.before?.approximateByteCount ?? 0) + ($0.after?.approximateByteCount ?? 0) } ?? 0) }
        self.stateBefore = nil
    }

    /// Adds one row change of the current transaction. When the buffer is full it is
    /// appended first (without agent state), after `validate` confirms that what was read
    /// so far is still right.
    func add(_ change: WALRowChange, validate: () throws -> Void) throws {
        if isFull {
            try validate()
            try appendCompleteTransactions()
            try append(state: [:])
            if group != nil { FaultPoint.reached(FaultPoint.transactionBatch) }
        }
        let g = group ?? (nextLSN, 0)
        let rowChange = RowChange(transaction: TransactionInfo(id: g.id, index: g.index, isLast: false),
                                  table: change.table, operation: change.operation, key: change.key,
                                  before: change.before, after: change.after)
        buffer.append(Event(lsn: LSN(nextLSN), source: source, timestampMilliseconds: timestamp, body: .change(rowChange)))
        bufferBytes += (change.before?.approximateByteCount ?? 0) + (change.after?.approximateByteCount ?? 0)
        group = (g.id, g.index + 1)
        nextLSN += 1
    }

    /// Adds a schema event of the current transaction; it comes before the transaction's row
    /// changes and is not part of their group (docs/events.md, `schema`).
    func add(_ change: SchemaChange, validate: () throws -> Void) throws {
        if isFull {
            try validate()
            try append(state: [:])
        }
        buffer.append(Event(lsn: LSN(nextLSN), source: source, timestampMilliseconds: timestamp, body: .schema(change)))
        nextLSN += 1
    }

    /// Adds a snapshot epoch marker (start or end) for `tables`; the start marker's LSN is
    /// the epoch. Returns the epoch.
    @discardableResult
    func addMarker(start: Bool, epoch: LSN? = nil, tables: [String], reason: String, validate: () throws -> Void) throws -> LSN {
        if isFull {
            try validate()
            try append(state: [:])
        }
        let marker = SnapshotEpoch(epoch: epoch ?? LSN(nextLSN), tables: tables, reason: reason)
        buffer.append(Event(lsn: LSN(nextLSN), source: source, timestampMilliseconds: timestamp,
                            body: start ? .snapshotStart(marker) : .snapshotEnd(marker)))
        nextLSN += 1
        return marker.epoch
    }

    /// Ends the current transaction: its last event (always still buffered, because a full
    /// buffer is appended before an event is added) says so.
    func endTransaction() {
        defer { group = nil }
        guard group != nil, let i = buffer.indices.last, case .change(var c) = buffer[i].body else { return }
        c.transaction.isLast = true
        buffer[i].body = .change(c)
    }

    /// Drops the buffered events of the current transaction (its reads turned out invalid;
    /// a resync epoch follows).
    func discardTransaction() throws {
        let start = transactionStart
        buffer.removeAll { $0.lsn.rawValue >= start }
        bufferBytes = buffer.reduce(0) { $0 + ($1.change.map { ($0.before?.approximateByteCount ?? 0) + ($0.after?.approximateByteCount ?? 0) } ?? 0) }
        nextLSN = try log.lastLSN().rawValue + Int64(buffer.count) + 1
        group = nil
    }

    /// Whether the buffer reached its limit.
    var isFull: Bool { buffer.count >= limit || bufferBytes >= byteLimit }

    /// Appends the buffer with `state` (empty: events only), marking `servedRequests` served in
    /// the same transaction (``EventLog/append(_:state:servedRequests:)``).
    func append(state: [String: SQLiteValue], servedRequests: (ids: [Int64], epoch: LSN)? = nil) throws {
        guard !buffer.isEmpty || !state.isEmpty else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        try log.append(buffer, state: state, servedRequests: servedRequests)
        appendSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        appended += buffer.count
        appendCount += 1
        buffer.removeAll(keepingCapacity: true)
        bufferBytes = 0
    }
}
