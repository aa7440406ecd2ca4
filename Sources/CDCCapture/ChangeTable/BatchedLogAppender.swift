import CDCCore
import CDCTransport

/// Events on their way to the log, appended in batches of at most `batchSize`: the change-table
/// mode's snapshot epochs and reads at the capture position gather their events here.
///
/// `add` flushes *before* it buffers, so the newest event always stays buffered and can still
/// be marked the last of its group (``markLastOfGroup()``). Only the caller's final flush
/// carries the agent state (the position); intermediate batches carry none, so a crash
/// between them reruns the work instead of skipping it.
final class BatchedLogAppender {
    private let log: EventLog
    private let batchSize: Int
    /// Called after each intermediate (stateless) batch: where a fault point goes.
    private let afterIntermediateBatch: () -> Void
    /// The events not yet appended.
    private(set) var events: [Event] = []
    /// Events appended so far.
    private(set) var appended = 0

    init(log: EventLog, batchSize: Int, afterIntermediateBatch: @escaping () -> Void = {}) {
        self.log = log
        self.batchSize = max(1, batchSize)
        self.afterIntermediateBatch = afterIntermediateBatch
    }

    /// Appends the buffered events with `state` (and marks `served` requests served in the same
    /// log transaction); nothing happens when both are empty.
    /// - Throws: ``EventLogError``, ``SQLiteError``.
    func flush(state: [String: SQLiteValue] = [:], served: (ids: [Int64], epoch: LSN)? = nil) throws {
        guard !events.isEmpty || !state.isEmpty else { return }
        try log.append(events, state: state, servedRequests: served)
        appended += events.count
        events.removeAll(keepingCapacity: true)
        if state.isEmpty { afterIntermediateBatch() }
    }

    /// Buffers `event`, appending the full batch before it first.
    func add(_ event: Event) throws {
        if events.count >= batchSize { try flush() }
        events.append(event)
    }

    /// Marks the last buffered change event as the last of its group.
    func markLastOfGroup() {
        guard let i = events.lastIndex(where: { $0.change != nil }), case .change(var c) = events[i].body else { return }
        c.transaction.isLast = true
        events[i].body = .change(c)
    }
}
