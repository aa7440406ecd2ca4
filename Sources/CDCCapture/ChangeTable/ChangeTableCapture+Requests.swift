import CDCCore
import CDCSQLite
import CDCTransport

extension ChangeTableCapture {
    /// A `requested` snapshot epoch read in chunks while streaming goes on
    /// (docs/operations.md, "Re-snapshot on demand").
    struct IncrementalEpoch {
        /// The requests it serves (marked served with ``epoch`` when it ends).
        var requestIDs: [Int64]
        /// Captured table ids, in the order they are read.
        var tableIDs: [Int64]
        /// The start marker's LSN, once appended.
        var epoch: LSN?
        /// Which of ``tableIDs`` is being read.
        var tableIndex = 0
        /// The chunk position of the last row read of that table (``TableRowReader``).
        var after: [SQLiteValue]?
    }

    /// A request for some keys of one table.
    struct KeyedRequest {
        var id: Int64
        var tableID: Int64
        var keys: [[SQLiteValue]]
    }

    /// Rows per chunk of a `requested` epoch: one batch, so a chunk's read transaction (on
    /// the agent's own connection; it never blocks the service's writers) and its append
    /// stay as short as a streamed batch's.
    var chunkRows: Int { batchSize }

    /// Queues the log's unserved snapshot requests: whole-table ones become one chunked
    /// `requested` epoch (requests arriving while it runs wait for the next one), keyed ones
    /// are served one by one between chunks. A table that is not captured is left out with a
    /// warning; a request left with no table is marked served at once (an epoch listing no
    /// tables would cover every table to a sink).
    func queueSnapshotRequests() throws {
        let requests = try log.pendingSnapshotRequests().filter { !queuedRequestIDs.contains($0.id) }
        guard !requests.isEmpty else { return }
        var nothingToDo: [Int64] = []
        let whole = requests.filter { !$0.isKeyed }
        if incrementalEpoch == nil, !whole.isEmpty {
            var ids: [Int64]
            if whole.contains(where: { $0.tables.isEmpty }) {
                ids = meta.orderedTables.map(\.id)
            } else {
                var chosen = Set<Int64>()
                for request in whole {
                    for name in request.tables {
                        if let record = meta.table(named: name) { chosen.insert(record.id) } else {
                            logger.warning("\(sourcePath): snapshot request \(request.id) names \(quoteIdentifier(name)), which is not captured; ignoring that table")
                        }
                    }
                }
                ids = chosen.sorted()
            }
            ids = ids.filter { schemas[$0] != nil }
            if ids.isEmpty {
                nothingToDo += whole.map(\.id)
            } else {
                incrementalEpoch = IncrementalEpoch(requestIDs: whole.map(\.id), tableIDs: ids)
                queuedRequestIDs.formUnion(whole.map(\.id))
            }
        }
        for request in requests where request.isKeyed {
            guard let name = request.tables.first, let record = meta.table(named: name) else {
                logger.warning("\(sourcePath): snapshot request \(request.id) names a table that is not captured; nothing to send")
                nothingToDo.append(request.id)
                continue
            }
            keyedRequests.append(KeyedRequest(id: request.id, tableID: record.id, keys: request.keys ?? []))
            queuedRequestIDs.insert(request.id)
        }
        if !nothingToDo.isEmpty { try log.markSnapshotRequestsServed(nothingToDo, epoch: try log.lastLSN()) }
    }

    /// Forgets queued requests (a full epoch ran: the stream's position moved under them);
    /// they are still unserved in the log and are queued again.
    func dropQueuedRequests() {
        incrementalEpoch = nil
        keyedRequests = []
        queuedRequestIDs = []
    }

    /// Runs one step of the queued request work: one keyed request, or one chunk of the
    /// `requested` epoch. The caller calls it only when the stream is caught up and no group
    /// is open.
    ///
    /// Each step is ONE read transaction on the source: H, the highest change sequence
    /// assigned; every change row up to H, of every table, as normal groups (their events
    /// come first); then the snapshot rows, read in the same transaction, so they show the
    /// source exactly after change H. The position becomes H. So every change a snapshot row
    /// reflects has a lower LSN, and every change committed after the read has a higher LSN
    /// than the row: a sink applying by row version never lets a snapshot row overwrite a
    /// newer streamed change, and a change between two chunks is streamed between them.
    ///
    /// - Returns: events appended, or `nil` when there is no request work.
    /// - Throws: ``SQLiteError``, ``EventLogError``, ``CaptureError``.
    /// - Complexity: O(change rows up to H + one chunk); memory O(batch size).
    func runRequestStep() throws -> Int? {
        if !keyedRequests.isEmpty {
            let request = keyedRequests.removeFirst()
            guard let schema = schemas[request.tableID] else {
                queuedRequestIDs.remove(request.id)
                try log.markSnapshotRequestsServed([request.id], epoch: try log.lastLSN())
                return 0
            }
            var readAt = LSN.zero
            var found = 0
            let appended = try readAtPosition { add, closeGroup, lsn in
                readAt = LSN(lsn - 1)
                let now = EventLog.nowMilliseconds()
                var group: OpenGroup?
                found = try TableRowReader.forEachRow(of: schema, in: connection, keys: request.keys) { key, row in
                    let change = PendingChange(table: schema, operation: .snapshot, key: key, before: nil, after: row, timestampMilliseconds: now)
                    try add(makeChangeEvent(change, lsn: &lsn, group: &group))
                }
                if group != nil { closeGroup() }
            }
            if found < request.keys.count {
                logger.info("\(sourcePath): snapshot request \(request.id): \(request.keys.count - found) of \(request.keys.count) key(s) of \(quoteIdentifier(schema.name)) do not exist at LSN \(readAt); nothing is sent for them")
            }
            try log.markSnapshotRequestsServed([request.id], epoch: readAt)
            queuedRequestIDs.remove(request.id)
            return appended
        }
        guard var work = incrementalEpoch else { return nil }
        var finished = false
        let appended = try readAtPosition(served: { finished ? work.epoch.map { (work.requestIDs, $0) } : nil }) { add, closeGroup, lsn in
            let now = EventLog.nowMilliseconds()
            // Tables dropped since the request are left out of the markers and the reads.
            let names = work.tableIDs.compactMap { schemas[$0]?.name }
            if work.epoch == nil {
                work.epoch = LSN(lsn)
                try add(Event(lsn: LSN(lsn), source: source, timestampMilliseconds: now,
                              body: .snapshotStart(SnapshotEpoch(epoch: LSN(lsn), tables: names, reason: "requested"))))
                lsn += 1
            }
            var group: OpenGroup?
            while work.tableIndex < work.tableIDs.count, schemas[work.tableIDs[work.tableIndex]] == nil { work.tableIndex += 1 }
            if work.tableIndex < work.tableIDs.count, let schema = schemas[work.tableIDs[work.tableIndex]] {
                let next = try TableRowReader.forEachRow(of: schema, in: connection, after: work.after, limit: chunkRows) { key, row in
                    let change = PendingChange(table: schema, operation: .snapshot, key: key, before: nil, after: row, timestampMilliseconds: now)
                    try add(makeChangeEvent(change, lsn: &lsn, group: &group))
                }
                if let next { work.after = next } else { work.tableIndex += 1; work.after = nil }
            }
            if group != nil { closeGroup() }
            while work.tableIndex < work.tableIDs.count, schemas[work.tableIDs[work.tableIndex]] == nil { work.tableIndex += 1 }
            if work.tableIndex >= work.tableIDs.count, let epoch = work.epoch {
                try add(Event(lsn: LSN(lsn), source: source, timestampMilliseconds: now,
                              body: .snapshotEnd(SnapshotEpoch(epoch: epoch, tables: names, reason: "requested"))))
                lsn += 1
                finished = true
            }
        }
        // A chunk of a requested epoch is appended (the last one with its requests marked
        // served): a kill here must cost at most the epoch's rest.
        FaultPoint.reached(FaultPoint.snapshotBatch)
        if finished, let epoch = work.epoch {
            queuedRequestIDs.subtract(work.requestIDs)
            incrementalEpoch = nil
            logger.info("\(sourcePath): snapshot epoch \(epoch) (requested) done")
        } else {
            incrementalEpoch = work
        }
        return appended
    }

    /// Reads at the capture position: in one read transaction, streams every change row up
    /// to H (the highest sequence assigned) as normal groups, then lets `emit` add events
    /// after them; appends everything (in batches, the last with the position H), and makes
    /// H the consumed position.
    /// - Parameter emit: adds events through `add`, numbering them from `lsn` (the next
    ///   LSN); `closeGroup` marks the last event added as the last of its group.
    /// - Returns: events appended.
    private func readAtPosition(served: () -> (ids: [Int64], epoch: LSN)? = { nil },
                                _ emit: (_ add: (Event) throws -> Void, _ closeGroup: () -> Void, _ lsn: inout Int64) throws -> Void) throws -> Int {
        let buffer = BatchedLogAppender(log: log, batchSize: batchSize)
        let startedAt = try log.lastLSN()
        var lsn = startedAt.rawValue + 1
        var fingerprint: Int64 = 0
        let h: Int64 = try withConsistentRead {
            let h = try assignedChangeSequence()
            fingerprint = try fingerprintOfChangeRow(h)
            var cursor = consumedSeq
            var group = openGroup
            while true {
                let rows = try readChangeRows(after: cursor, through: h, limit: batchSize)
                guard let last = rows.last?.seq else { break }
                cursor = last
                for row in rows {
                    for change in try pendingChanges(for: row) { try buffer.add(makeChangeEvent(change, lsn: &lsn, group: &group)) }
                }
            }
            // The read ends at a transaction boundary (snapshot isolation): the group closes.
            if group != nil { buffer.markLastOfGroup() }
            openGroup = nil
            try emit(buffer.add, buffer.markLastOfGroup, &lsn)
            try requestReadHook?()
            return h
        }
        // The requests an epoch's end serves are marked in its last append (one transaction),
        // so a kill can never leave a finished epoch with its requests pending.
        try buffer.flush(state: stateForLog(changeSeq: h, appending: buffer.events.count, lastRowFingerprint: fingerprint, startedAt: startedAt), served: served())
        consumedSeq = h
        try deleteConsumedRows()
        return buffer.appended
    }
}
