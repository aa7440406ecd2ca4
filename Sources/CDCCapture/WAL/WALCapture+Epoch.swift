import CDCCore
import CDCSQLite
import CDCTransport
import CDCWAL
import Foundation

extension WALCapture {
    /// Runs a snapshot epoch (`initial` or `resync`) of every captured table and sets the
    /// stream position to exactly the snapshot it read.
    ///
    /// The position must match the pin's snapshot to the frame, and SQLite does not say
    /// which frame a read transaction ends at. So the pin is taken under the agent's own
    /// write lock (a barrier: no writer can append), and the WAL is read to its last commit
    /// before the lock is released: that commit is the pin's snapshot. The rows are then
    /// read through SQL in the pin, while the service writes again; the pin keeps every
    /// later frame from being checkpointed into the database file before it is captured.
    ///
    /// Events are appended in batches; only the last append stores the position, so a crash
    /// mid-epoch reruns the epoch.
    /// - Returns: events appended, or `nil` when `stop()` ended it early.
    func runEpoch(reason: String, until stop: () -> Bool) throws -> Int? {
        // Most of the WAL is read before the barrier, so the service's writers wait only for
        // the frames committed in between.
        try readWholeWAL(continuing: false)
        // Frequent short attempts, as for the barrier cycle (a busy writer starves SQLite's
        // busy handler); a busy error after the busy timeout is retried by the daemon. While
        // it waits, it keeps reading what the service commits, so that under the barrier only
        // a short tail is left (docs/wal-capture-protocol.md, step 4).
        let acquired = try acquireBarrier(waitMilliseconds: options.busyTimeoutMilliseconds) { backlog in
            if backlog > Self.barrierReadLimitFrames { try self.readWholeWAL(continuing: true) }
        }
        guard acquired else {
            throw SQLiteError(code: .busy, message: "the service kept its write lock for \(options.busyTimeoutMilliseconds) ms; the snapshot epoch waits for a moment between its transactions", path: sourcePath)
        }
        do {
            try endAllPins()
            try takePin()
            try readWholeWAL(continuing: true)
            walInode = WALFileStamp(path: sourcePath + "-wal")?.inode
            try barrier.execute("ROLLBACK")
        } catch {
            try? barrier.execute("ROLLBACK")
            throw error
        }
        try loadTables()
        guard let pin = activePin else { return nil }
        let connection = pins[pin]
        logger.info("\(sourcePath): snapshot epoch (\(reason)) of \(tables.count) table(s) starting")
        var lsn = try log.lastLSN().rawValue + 1
        var buffer: [Event] = []
        var bufferBytes = 0
        var appended = 0
        func flush(state: [String: SQLiteValue] = [:]) throws {
            guard !buffer.isEmpty || !state.isEmpty else { return }
            try log.append(buffer, state: state)
            appended += buffer.count
            buffer.removeAll(keepingCapacity: true)
            bufferBytes = 0
            // Mid-epoch only: the last append (with the position) ends the epoch.
            if state.isEmpty { FaultPoint.reached(reason == "resync" ? FaultPoint.resyncBatch : FaultPoint.snapshotBatch) }
        }
        let now = EventLog.nowMilliseconds()
        if reason == "resync" {
            for change in try missedSchemaChanges() {
                buffer.append(Event(lsn: LSN(lsn), source: source, timestampMilliseconds: now, body: .schema(change)))
                lsn += 1
            }
        }
        let epoch = SnapshotEpoch(epoch: LSN(lsn), tables: tables.map(\.schema.name), reason: reason)
        buffer.append(Event(lsn: LSN(lsn), source: source, timestampMilliseconds: now, body: .snapshotStart(epoch)))
        lsn += 1
        let groupID = lsn
        var index = 0
        for table in tables {
            if stop() {
                logger.info("\(sourcePath): snapshot epoch interrupted; it runs again on the next start")
                return nil
            }
            try TableRowReader.forEachRow(of: table.schema, in: connection) { key, row in
                if buffer.count >= options.batchSize || bufferBytes >= options.batchBytes { try flush() }
                bufferBytes += row.approximateByteCount
                let change = RowChange(transaction: TransactionInfo(id: groupID, index: index, isLast: false),
                                       table: table.schema, operation: .snapshot, key: key, before: nil, after: row)
                buffer.append(Event(lsn: LSN(lsn), source: source, timestampMilliseconds: now, body: .change(change)))
                index += 1
                lsn += 1
            }
        }
        if let i = buffer.lastIndex(where: { $0.change != nil }), case .change(var c) = buffer[i].body {
            c.transaction.isLast = true
            buffer[i].body = .change(c)
        }
        buffer.append(Event(lsn: LSN(lsn), source: source, timestampMilliseconds: now, body: .snapshotEnd(epoch)))
        try flush(state: try positionState(appending: buffer.count))
        pendingEpoch = nil
        // A requested epoch in progress was read at the old position: its requests are still
        // pending in the log and are queued again.
        incrementalEpoch = nil
        requestsLogVersion = -1
        pinnedSincePosition = true
        logger.info("\(sourcePath): snapshot epoch (\(reason)) done: \(appended) event(s)")
        return appended
    }

    /// Reads every committed transaction of the WAL into ``pageMap`` and sets ``position``
    /// to its end (or `nil` without a WAL).
    /// - Parameter continuing: go on from ``position`` when the WAL is still the same
    ///   generation (else, and when `false`, read it from its first frame).
    private func readWholeWAL(continuing: Bool) throws {
        guard let wal = try walFile(), let fresh = try WALReader(source: wal) else {
            position = nil
            pageMap = WALPageMap()
            return
        }
        var reader = fresh
        var last: WALPosition?
        if walIndex == nil { walIndex = WALIndexFile(databasePath: sourcePath) }
        if continuing, let p = position, p.header == fresh.position.header {
            reader = WALReader(resumingAt: p)
            last = p
        } else {
            pageMap = WALPageMap()
        }
        while true {
            let result = try reader.readCommittedTransactions(from: wal, maximumTransactionCount: 1_024)
            if result.end == .headerChanged {
                // Restarted between the two reads: start over on the new generation.
                guard let again = try WALReader(source: wal) else { position = nil; pageMap = WALPageMap(); return }
                reader = again
                pageMap = WALPageMap()
                continue
            }
            // Only what SQLite's wal-index publishes as committed (see isCommittedInIndex).
            let published = walIndex?.lastCommittedFrame().flatMap { $0.salts == reader.position.header.saltBytes ? Int($0.frame) : nil }
            for t in result.transactions {
                if let published, t.commitFrameIndex + 1 > published {
                    position = last ?? WALPosition(header: reader.position.header)
                    return
                }
                pageMap.add(t)
                var p = WALPosition(header: reader.position.header)
                p.frameIndex = t.commitFrameIndex + 1
                p.checksum = t.checksumAfterCommit
                last = p
            }
            if result.end != .transactionLimit { break }
        }
        position = reader.position
    }
}
