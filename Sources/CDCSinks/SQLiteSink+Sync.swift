import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// What a sink does when the events it needs next were already removed by the log's retention.
public enum GapPolicy: Sendable, Equatable {
    /// Stop with ``EventLogError/offsetPruned`` (the caller decides).
    case fail
    /// Ask the agent for a new snapshot epoch of the projected tables (needs write access to
    /// the log), wait until it is served, and continue reading from its start marker; the
    /// epoch's end marker removes what the missed events would have removed.
    case requestSnapshot(requester: String)
}

extension SQLiteSink {
    /// Checks the sink's projection against the newest schema of every table in the log, so
    /// a projection naming a column the table lacks fails before anything is applied.
    /// - Throws: ``ProjectionError``, ``SinkError/reservedTableName``, ``EventLogError``.
    public func validate(against log: EventLog) throws {
        try Self.validate(projection, against: log, logger: logger)
    }

    /// Checks a projection against the newest schema of every table in the log, without a
    /// replica (so a bad projection is refused before any file is written). A column missing
    /// from a table whose schema changed (version above 1) is only a warning: a change may have
    /// renamed or dropped it, and the sink reports that change, by LSN, when it reaches it.
    /// - Throws: ``ProjectionError``, ``SinkError/reservedTableName``, ``EventLogError``.
    /// - Complexity: one pass over the log's rows; see ``EventLog/latestSchemas()``.
    public static func validate(_ projection: Projection, against log: EventLog, logger: Logger = .silent) throws {
        let schemas = try log.latestSchemas()
        for (name, schema) in schemas.sorted(by: { $0.key < $1.key }) {
            guard let rule = projection.rule(for: name) else { continue }
            let projected: ProjectedTable
            do {
                projected = try ProjectedTable(rule: rule, sourceSchema: schema)
            } catch ProjectionError.unknownColumn(let table, let column) where schema.version > 1 {
                // The table changed shape since it was created: the column may be one a change
                // renamed or dropped. The sink then applies the events before that change and
                // stops at it, saying what to change in the projection; refusing here would
                // leave the replica unable to reach it.
                logger.warning("the projection names column \(quoteIdentifier(column)) of table \(quoteIdentifier(table)), which its newest schema (version \(schema.version)) lacks; the sink stops at the change that renamed or dropped it")
                continue
            }
            guard !isReserved(projected.targetSchema.name) else { throw SinkError.reservedTableName(projected.targetSchema.name) }
        }
        for name in projection.sourceTables ?? [] where schemas[name] == nil {
            logger.warning("the projection names table \(quoteIdentifier(name)), which has no events in \(log.path) yet")
        }
    }

    /// Applies every event the log holds after ``appliedLSN``, in batches of one transaction each.
    ///
    /// The committed offset is acknowledged to the log (``EventLog/acknowledge(sink:offset:eventTimestampMilliseconds:now:)``,
    /// under ``acknowledgementName``) at most once a second and at the end, when the log was
    /// opened with write access; a read-only log is read all the same.
    ///
    /// - Parameters:
    ///   - log: the event log to read.
    ///   - batchSize: events per transaction.
    ///   - gapPolicy: what to do when retention removed events the sink still needs.
    ///   - pollInterval: how often to check whether a requested snapshot was served.
    ///   - shouldStop: checked between batches; `true` stops after the batch in hand.
    /// - Returns: the number of events read and applied (skipped ones included).
    /// - Throws: ``EventLogError`` (pruned offset with ``GapPolicy/fail``, corrupt event),
    ///   and what ``apply(_:)`` throws.
    /// - Complexity: O(events after the offset).
    @discardableResult
    public func sync(from log: EventLog, batchSize: Int = 1000, gapPolicy: GapPolicy = .fail, pollInterval: Duration = .milliseconds(5), until shouldStop: () -> Bool = { false }) throws -> Int {
        var position = try appliedLSN
        var isResynchronizing = false
        let reader = try ReadAheadReader(log: log)
        defer { reader.close() }
        let acknowledger = SinkAcknowledger(name: acknowledgementName, logger: logger)
        defer { acknowledger.send(to: log) }
        return try drain(log, reader: reader, acknowledger: acknowledger, position: &position, isResynchronizing: &isResynchronizing, batchSize: batchSize, gapPolicy: gapPolicy, pollInterval: pollInterval, until: shouldStop)
    }

    /// Applies events as they arrive until `shouldStop` returns `true`.
    ///
    /// Between batches the sink polls the log's change counter (`PRAGMA data_version`, a
    /// read of shared memory) every `pollInterval`, so a new commit is applied within about
    /// one interval, without a fixed long sleep. The committed offset is acknowledged to the
    /// log as by ``sync(from:batchSize:gapPolicy:pollInterval:until:)``, and once more when
    /// the sink goes idle or stops.
    ///
    /// - Parameters:
    ///   - log: the event log to follow.
    ///   - batchSize: events per transaction.
    ///   - gapPolicy: what to do when retention removed events the sink still needs.
    ///   - pollInterval: how often to look for new events while idle.
    ///   - shouldStop: checked between batches and while idle; `true` returns after the
    ///     batch in hand.
    /// - Throws: as ``sync(from:batchSize:gapPolicy:pollInterval:until:)``.
    public func follow(_ log: EventLog, batchSize: Int = 1000, gapPolicy: GapPolicy = .fail, pollInterval: Duration = .milliseconds(5), until shouldStop: () -> Bool) throws {
        var position = try appliedLSN
        var isResynchronizing = false
        var total = 0, lastProgress = Date()
        let reader = try ReadAheadReader(log: log)
        defer { reader.close() }
        let acknowledger = SinkAcknowledger(name: acknowledgementName, logger: logger)
        defer { acknowledger.send(to: log) }
        logger.info("following \(log.path) from LSN \(position) (checking every \(pollInterval); SIGTERM or SIGINT stops)")
        defer { logger.info("stopping after \(total) event(s); replica at LSN \(position)") }
        while !shouldStop() {
            let counter = try log.changeCounter()
            total += try drain(log, reader: reader, acknowledger: acknowledger, position: &position, isResynchronizing: &isResynchronizing, batchSize: batchSize, gapPolicy: gapPolicy, pollInterval: pollInterval, until: shouldStop)
            if Date().timeIntervalSince(lastProgress) >= 5 {
                lastProgress = Date()
                let lag = (try? progress.lagSeconds()).flatMap { $0 }.map { String(format: ", newest applied event %.1f s old", $0) } ?? ""
                logger.info("\(total) event(s) applied so far; replica at LSN \(position)\(lag)")
            }
            while !shouldStop() {
                // Idle: the offset an interval-limited acknowledgement held back goes out now.
                acknowledger.sendIfDue(to: log)
                Self.sleep(pollInterval)
                if try log.changeCounter() != counter { break }
            }
        }
    }

    private func drain(_ log: EventLog, reader: ReadAheadReader, acknowledger: SinkAcknowledger, position: inout LSN, isResynchronizing: inout Bool, batchSize: Int, gapPolicy: GapPolicy, pollInterval: Duration, until shouldStop: () -> Bool) throws -> Int {
        var total = 0
        while !shouldStop() {
            let events: [Event]
            do {
                events = try reader.read(after: position, limit: max(1, batchSize))
            } catch EventLogError.offsetPruned(let path, let requested, let prunedThrough) {
                guard case .requestSnapshot(let requester) = gapPolicy else {
                    throw EventLogError.offsetPruned(path: path, requested: requested, prunedThrough: prunedThrough)
                }
                guard !isResynchronizing else { throw SinkError.snapshotEpochPruned(epoch: position.next) }
                guard let epoch = try awaitSnapshot(from: log, requester: requester, after: requested, pollInterval: pollInterval, until: shouldStop) else { return total }
                position = LSN(epoch.rawValue - 1)
                isResynchronizing = true
                continue
            }
            guard let last = events.last else { return total }
            do {
                try apply(events)
            } catch let error as SinkError {
                // A schema change the sink stops at: keep the batch's events before it, so the
                // offset stands right before the change and a run with a fixed projection (or
                // after a rebuild decision) continues there, not at the batch's start.
                guard let stop = error.schemaChangeLSN, let kept = Self.eventsBefore(stop, in: events), !kept.isEmpty else { throw error }
                try apply(kept)
                position = max(position, kept[kept.count - 1].lsn)
                acknowledger.committed(kept[kept.count - 1])
                acknowledger.send(to: log)
                throw error
            }
            FaultPoint.reached(FaultPoint.sinkCommit)
            acknowledger.committed(events.max { $0.lsn < $1.lsn } ?? last)
            acknowledger.sendIfDue(to: log)
            position = max(position, last.lsn)
            total += events.count
            if isResynchronizing, events.contains(where: { if case .snapshotEnd = $0.body { return true } else { return false } }) {
                isResynchronizing = false
            }
            logger.debug("applied \(events.count) event(s) through LSN \(last.lsn)")
        }
        return total
    }

    /// The events of a batch before the source transaction of the event at `lsn` (a schema
    /// event stands alone; a row change may be in the middle of its transaction), or `nil`
    /// when the batch does not hold that event.
    static func eventsBefore(_ lsn: LSN, in events: [Event]) -> [Event]? {
        guard let failed = events.first(where: { $0.lsn == lsn }) else { return nil }
        var cut = lsn
        if case .change(let change) = failed.body, change.transaction.id > 0, change.transaction.id < lsn.rawValue {
            cut = LSN(change.transaction.id)
        }
        return events.filter { $0.lsn < cut }
    }

    /// Requests a snapshot epoch and waits until the agent serves it.
    /// - Returns: the epoch (its start marker's LSN), or `nil` when stopped while waiting.
    private func awaitSnapshot(from log: EventLog, requester: String, after position: LSN, pollInterval: Duration, until shouldStop: () -> Bool) throws -> LSN? {
        let id = try log.requestSnapshot(requester: requester, tables: projection.sourceTables ?? [])
        logger.warning("events after LSN \(position) were removed by retention; requested snapshot epoch (request \(id)) and waiting for the agent to serve it")
        while !shouldStop() {
            if let epoch = try log.servedEpoch(ofRequest: id) {
                logger.info("snapshot request \(id) is served by epoch \(epoch)")
                return epoch
            }
            Self.sleep(pollInterval)
        }
        return nil
    }

    static func sleep(_ interval: Duration) {
        let (seconds, attoseconds) = interval.components
        let micro = max(0, seconds) * 1_000_000 + max(0, attoseconds) / 1_000_000_000_000
        usleep(useconds_t(clamping: max(100, micro)))
    }
}
