import CDCCore
import CDCSQLite
import CDCTransport
import CDCWAL

extension WALCapture {
    /// A `requested` snapshot epoch read in chunks between capture passes
    /// (docs/operations.md, "Re-snapshot on demand").
    struct IncrementalEpoch {
        /// The requests it serves (marked served with ``epoch`` when it ends).
        var requestIDs: [Int64]
        /// The tables, by name, in the order they are read.
        var tableNames: [String]
        /// The start marker's LSN, once appended.
        var epoch: LSN?
        /// Which of ``tableNames`` is being read.
        var tableIndex = 0
        /// The rowid of the last row read of that table.
        var afterRowID: Int64?
    }

    /// Looks at the log's pending snapshot requests (`cdc-sink --resnapshot-on-gap`,
    /// `cdc-agent resnapshot`): queues whole-table ones as one chunked `requested` epoch
    /// (``serveEpochChunk()`` reads it; requests arriving while it runs wait for the next
    /// one), and serves keyed ones at once: the `snapshot` rows of the keys that exist, as
    /// one group without markers; a key that does not exist sends nothing.
    ///
    /// Rows are read from the pages of the last captured commit (``position``), not through
    /// SQL: SQLite does not say which commit a read transaction sees, and the rows must show
    /// exactly the commit whose changes have the highest LSNs in the log so far. So each
    /// snapshot row gets an LSN above every change it reflects and below every change
    /// committed after it, and a sink applying by row version never lets a snapshot row
    /// overwrite a newer streamed change.
    ///
    /// Call it only when caught up (the pin cannot be ahead of ``position``, so no checkpoint
    /// can have copied a newer page into the database file; checked all the same).
    /// - Returns: events appended.
    /// - Throws: ``SQLiteError``, ``EventLogError``, ``WALCaptureError/undecodable``.
    /// - Complexity: O(rows of the tables of keyed requests); memory O(one batch + the keys
    ///   asked for).
    func serveSnapshotRequests() throws -> Int {
        guard started, pendingEpoch == nil else { return 0 }
        let queued = Set(incrementalEpoch?.requestIDs ?? [])
        let requests = try log.pendingSnapshotRequests().filter { !queued.contains($0.id) }
        guard !requests.isEmpty else { return 0 }
        let whole = requests.filter { !$0.isKeyed }
        if incrementalEpoch == nil, !whole.isEmpty {
            let names = whole.contains { $0.tables.isEmpty } ? nil : Set(whole.flatMap(\.tables))
            for name in names?.sorted() ?? [] where !tables.contains(where: { $0.schema.name == name }) {
                logger.warning("\(sourcePath): a snapshot request names \(quoteIdentifier(name)), which is not a table of the source; ignoring that table")
            }
            let chosen = tables.map(\.schema.name).filter { names?.contains($0) ?? true }
            if chosen.isEmpty {
                // An epoch that lists no tables covers every table to a sink: never send one.
                try log.markSnapshotRequestsServed(whole.map(\.id), epoch: try log.lastLSN())
            } else {
                incrementalEpoch = IncrementalEpoch(requestIDs: whole.map(\.id), tableNames: chosen)
                logger.info("\(sourcePath): snapshot epoch (requested) of \(chosen.count) table(s) starting")
            }
        }
        let keyed = requests.filter(\.isKeyed)
        guard !keyed.isEmpty else { return 0 }
        var served: [(id: Int64, lsn: LSN)] = []
        let appended = try readAtPosition { batch, validate, pages in
            for request in keyed {
                let readAt = LSN(try log.lastLSN().rawValue + Int64(batch.buffer.count))
                guard let name = request.tables.first, let table = tables.first(where: { $0.schema.name == name }) else {
                    logger.warning("\(sourcePath): snapshot request \(request.id) names a table the source no longer has; nothing to send")
                    served.append((request.id, readAt))
                    continue
                }
                let wanted = Set(request.keys ?? [])
                var found = 0
                batch.beginTransaction(timestampMilliseconds: EventLog.nowMilliseconds())
                try emitRows(of: table, at: pages, into: batch, validate: validate) { key in
                    guard wanted.contains(key) else { return false }
                    found += 1
                    return true
                }
                batch.endTransaction()
                if found < wanted.count {
                    logger.info("\(sourcePath): snapshot request \(request.id): \(wanted.count - found) of \(wanted.count) key(s) of \(quoteIdentifier(name)) do not exist at LSN \(readAt); nothing is sent for them")
                }
                served.append((request.id, readAt))
            }
        }
        guard let appended else { return 0 }
        for (id, lsn) in served { try log.markSnapshotRequestsServed([id], epoch: lsn) }
        return appended
    }

    /// Reads and appends one chunk of the queued `requested` epoch at the capture position:
    /// the start marker with the first chunk, then up to `--batch-size` rows of a rowid table
    /// in rowid order (a b-tree seek past the last rowid read), and the end marker after the
    /// last table. A WITHOUT ROWID table is read in one pass (seeking by a record key in the
    /// table's collations is not written yet). Between chunks the caller captures what was
    /// committed meanwhile, so a change to a row after its chunk was read follows as that
    /// change, with a higher LSN.
    /// - Returns: events appended.
    /// - Throws: as ``serveSnapshotRequests()``.
    /// - Complexity: O(one chunk) after a root-to-leaf descent.
    func serveEpochChunk() throws -> Int {
        guard started, pendingEpoch == nil, var work = incrementalEpoch else { return 0 }
        var finished = false
        let appended = try readAtPosition(served: { finished ? work.epoch.map { (work.requestIDs, $0) } : nil }) { batch, validate, pages in
            let present = { (name: String) in self.tables.first { $0.schema.name == name } }
            // Tables dropped or renamed since the request are left out of markers and reads.
            let names = work.tableNames.filter { present($0) != nil }
            batch.beginTransaction(timestampMilliseconds: EventLog.nowMilliseconds())
            if work.epoch == nil {
                work.epoch = try batch.addMarker(start: true, tables: names, reason: "requested", validate: validate)
            }
            func skipMissing() { while work.tableIndex < work.tableNames.count, present(work.tableNames[work.tableIndex]) == nil { work.tableIndex += 1 } }
            skipMissing()
            if work.tableIndex < work.tableNames.count, let table = present(work.tableNames[work.tableIndex]) {
                var next: Int64?
                if table.layout.isWithoutRowID {
                    try emitRows(of: table, at: pages, into: batch, validate: validate)
                } else {
                    let walker = try BTreeWalker(source: pages)
                    let converter = ImageConverter(from: table, to: table)
                    next = try walker.forEachTableRow(rootPage: table.rootPage, after: work.afterRowID, limit: options.batchSize) { row in
                        let image = try converter.image(record: row.values, rowid: row.rowid)
                        let key = WALRowChange.key(of: table, rowid: row.rowid, image: image)
                        try batch.add(WALRowChange(table: table.schema, operation: .snapshot, key: key, before: nil, after: image), validate: validate)
                    }
                }
                if let next { work.afterRowID = next } else { work.tableIndex += 1; work.afterRowID = nil }
            }
            batch.endTransaction()
            skipMissing()
            if work.tableIndex >= work.tableNames.count, let epoch = work.epoch {
                try batch.addMarker(start: false, epoch: epoch, tables: names, reason: "requested", validate: validate)
                finished = true
            }
        }
        guard let appended else { return 0 }
        // A chunk of a requested epoch is appended (the last one with its requests marked
        // served): a kill here must cost at most the epoch's rest.
        FaultPoint.reached(FaultPoint.snapshotBatch)
        if finished, let epoch = work.epoch {
            incrementalEpoch = nil
            // Requests that arrived while it ran are looked at again.
            requestsLogVersion = -1
            logger.info("\(sourcePath): snapshot epoch \(epoch) (requested) done")
        } else {
            incrementalEpoch = work
        }
        return appended
    }

    /// Runs `body` with a batch, a validity check and the pages of the last captured commit,
    /// then appends the batch with the (unchanged) position.
    /// - Returns: events appended, or `nil` when a checkpoint copied newer pages into the
    ///   database file while they were read: nothing more is appended, and a resync epoch
    ///   (which also drops the queued epoch; its requests stay pending) is set to run.
    private func readAtPosition(served: () -> (ids: [Int64], epoch: LSN)? = { nil },
                                _ body: (WALEventBatch, () throws -> Void, CachedPageSource<CapturePages>) throws -> Void) throws -> Int? {
        let pages = try snapshotSource(atCommit: pageMap.commits.last)
        let validate = backfillCheck(readingAt: pageMap.commits.last)
        let batch = try WALEventBatch(log: log, source: source, limit: options.batchSize, byteLimit: options.batchBytes)
        do {
            try mappingDecodingErrors {
                try body(batch, validate, pages)
                try requestReadHook?()
                try validate()
            }
        } catch is BackfillRace {
            try batch.discardTransaction()
            logger.warning("\(sourcePath): a checkpoint copied frames past the agent's position into the database file while serving a snapshot request; running a resync epoch")
            pendingEpoch = "resync"
            return nil
        }
        // The requests an epoch's end serves are marked in its last append (one transaction),
        // so a kill can never leave a finished epoch with its requests pending.
        try batch.append(state: try positionState(appending: batch.buffer.count), servedRequests: served())
        return batch.appended
    }

    /// Adds one `snapshot` row per row of `table` at `pages` (those whose key `include`
    /// accepts) to the current transaction of `batch`.
    private func emitRows(of table: WALTable, at pages: some PageSource, into batch: WALEventBatch,
                          validate: () throws -> Void, include: ([SQLiteValue]) -> Bool = { _ in true }) throws {
        let walker = try BTreeWalker(source: pages)
        let converter = ImageConverter(from: table, to: table)
        func emit(_ image: [SQLiteValue], rowid: Int64?) throws {
            let key = WALRowChange.key(of: table, rowid: rowid, image: image)
            guard include(key) else { return }
            try batch.add(WALRowChange(table: table.schema, operation: .snapshot, key: key, before: nil, after: image), validate: validate)
        }
        if table.layout.isWithoutRowID {
            try walker.forEachIndexEntry(rootPage: table.rootPage) { try emit(try converter.image(record: $0, rowid: nil), rowid: nil) }
        } else {
            try walker.forEachTableRow(rootPage: table.rootPage) { try emit(try converter.image(record: $0.values, rowid: $0.rowid), rowid: $0.rowid) }
        }
    }
}
