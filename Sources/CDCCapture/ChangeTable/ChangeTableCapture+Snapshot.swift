import CDCCore
import CDCSQLite
import CDCTransport

extension ChangeTableCapture {
    /// Runs one snapshot epoch: in ONE read transaction on the source, reads H, the highest
    /// change sequence ever assigned; for a partial epoch first streams the other tables'
    /// changes up to H; then emits `snapshot_start`, one `snapshot` event per row of each
    /// table, and `snapshot_end`. Changes with seq ≤ H are reflected in the rows read, so
    /// the capture position becomes H: nothing is missed or doubled at the boundary.
    ///
    /// Events are appended in batches (memory O(batch size)); only the last append stores
    /// the new position, so a crash mid-epoch reruns the epoch.
    ///
    /// - Returns: events appended, or `nil` when `stop()` ended it early (not durable as a
    ///   position; the epoch runs again next time).
    /// - Complexity: O(rows of the tables).
    func runSnapshot(_ request: PendingSnapshot, until stop: () -> Bool) throws -> Int? {
        let ids = request.tableIDs.map { Array($0).sorted() } ?? meta.orderedTables.map(\.id)
        let tables = ids.compactMap { schemas[$0] }
        let epochTables = tables.map(\.name)
        logger.info("\(sourcePath): snapshot epoch (\(request.reason)) of \(epochTables.count) table(s) starting")
        let startedAt = try log.lastLSN()
        var lsn = startedAt.rawValue + 1
        // Mid-epoch batches only: the last append (with the position) ends the epoch.
        let point = request.reason == "resync" ? FaultPoint.resyncBatch : FaultPoint.snapshotBatch
        let buffer = BatchedLogAppender(log: log, batchSize: batchSize) { FaultPoint.reached(point) }
        var stopped = false
        var epochLSN = LSN.zero
        var boundaryFingerprint: Int64 = 0
        let boundary: Int64 = try withConsistentRead {
            // Every change row up to the highest assigned seq is reflected in what this read
            // sees; after a restore that is below the old consumed position, and the stream
            // must continue from it, not from the lost future.
            let h = try assignedChangeSequence()
            boundaryFingerprint = try fingerprintOfChangeRow(h)
            let now = EventLog.nowMilliseconds()
            if request.tableIDs != nil {
                // Changes of the other tables up to H must come first: the new position H
                // covers them too.
                let inEpoch = Set(ids)
                var cursor = consumedSeq
                var group: OpenGroup?
                while true {
                    let rows = try readChangeRows(after: cursor, through: h, limit: batchSize)
                    guard let last = rows.last?.seq else { break }
                    cursor = last
                    for row in rows where !inEpoch.contains(row.tableID) {
                        for change in try pendingChanges(for: row) { try buffer.add(makeChangeEvent(change, lsn: &lsn, group: &group)) }
                    }
                }
                if group != nil { buffer.markLastOfGroup() }
            }
            let epoch = SnapshotEpoch(epoch: LSN(lsn), tables: epochTables, reason: request.reason)
            epochLSN = epoch.epoch
            try buffer.add(Event(lsn: LSN(lsn), source: source, timestampMilliseconds: now, body: .snapshotStart(epoch)))
            lsn += 1
            var group: OpenGroup?
            for schema in tables {
                if stop() { stopped = true; break }
                try readRows(of: schema) { key, row in
                    let change = PendingChange(table: schema, operation: .snapshot, key: key, before: nil, after: row, timestampMilliseconds: now)
                    try buffer.add(makeChangeEvent(change, lsn: &lsn, group: &group))
                }
            }
            if stopped { return h }
            if group != nil { buffer.markLastOfGroup() }
            try buffer.add(Event(lsn: LSN(lsn), source: source, timestampMilliseconds: now, body: .snapshotEnd(epoch)))
            lsn += 1
            return h
        }
        if stopped {
            logger.info("\(sourcePath): snapshot epoch interrupted; it runs again on the next start")
            return nil
        }
        openGroup = nil
        snapshottedTableIDs.formUnion(ids)
        // The requests are marked served with the epoch's last append (one transaction): a
        // crash between the two made every restart run the whole epoch again (found by the
        // kill -9 harness, killing the agent every few seconds).
        try buffer.flush(state: stateForLog(changeSeq: boundary, appending: buffer.events.count, lastRowFingerprint: boundaryFingerprint, startedAt: startedAt),
                  served: request.requestIDs.isEmpty ? nil : (request.requestIDs, epochLSN))
        consumedSeq = boundary
        try deleteConsumedRows()
        pendingSnapshot = nil
        // Queued request work read at the old position: queue it again from the log.
        dropQueuedRequests()
        logger.info("\(sourcePath): snapshot epoch (\(request.reason)) done: \(buffer.appended) event(s), change seq \(boundary)")
        return buffer.appended
    }


    /// Streams every row of a table: its key (in `keyNames` order) and its full row.
    func readRows(of schema: TableSchema, _ body: ([SQLiteValue], [SQLiteValue]) throws -> Void) throws {
        try TableRowReader.forEachRow(of: schema, in: connection, body)
    }
}
