import CDCCore
import CDCTransport

/// Events of WAL capture on their way to the log: numbered with consecutive LSNs, grouped by
/// source transaction, and appended in batches of at most `limit` events, so memory stays
/// bounded by the batch even for a transaction of millions of rows (docs/wal-capture.md,
/// "Memory").
///
/// A transaction larger than a batch is appended in several batches; only the batch that
/// ends a transaction stores the agent's position, so after a crash the whole transaction is
/// decoded again. Its first events are then in the log twice, with the second copies at
/// higher LSNs: replaying them gives the same rows (promise 3).
final class WALEventBatch {
    let log: EventLog
    let source: SourceInfo
    let limit: Int
    private(set) var buffer: [Event] = []
    private(set) var appended = 0
    private var nextLSN: Int64
    private var group: (id: Int64, index: Int)?
    private var timestamp: Int64 = 0
    private var transactionStart: Int64 = 0

    init(log: EventLog, source: SourceInfo, limit: Int) throws {
        self.log = log
        self.source = source
        self.limit = max(1, limit)
        nextLSN = try log.lastLSN().rawValue + 1
    }

    /// Starts the events of one source transaction, stamped with `timestampMilliseconds`.
    func beginTransaction(timestampMilliseconds: Int64) {
        group = nil
        timestamp = timestampMilliseconds
        transactionStart = nextLSN
    }

    /// Adds one row change of the current transaction. When the buffer is full it is
    /// appended first (without agent state), after `validate` confirms that what was read
    /// so far is still right.
    func add(_ change: WALRowChange, validate: () throws -> Void) throws {
        if buffer.count >= limit {
            try validate()
            try append(state: [:])
        }
        let g = group ?? (nextLSN, 0)
        let rowChange = RowChange(transaction: TransactionInfo(id: g.id, index: g.index, isLast: false),
                                  table: change.table, operation: change.operation, key: change.key,
                                  before: change.before, after: change.after)
        buffer.append(Event(lsn: LSN(nextLSN), source: source, timestampMilliseconds: timestamp, body: .change(rowChange)))
        group = (g.id, g.index + 1)
        nextLSN += 1
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
        nextLSN = try log.lastLSN().rawValue + Int64(buffer.count) + 1
        group = nil
    }

    /// Whether the buffer reached its limit.
    var isFull: Bool { buffer.count >= limit }

    /// Appends the buffer with `state` (empty: events only).
    func append(state: [String: SQLiteValue]) throws {
        guard !buffer.isEmpty || !state.isEmpty else { return }
        try log.append(buffer, state: state)
        appended += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
}
