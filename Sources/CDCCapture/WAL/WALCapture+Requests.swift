import CDCCore
import CDCSQLite
import CDCTransport
import CDCWAL

extension WALCapture {
    /// Serves the log's pending snapshot requests (`cdc-sink --resnapshot-on-gap`,
    /// `cdc-agent resnapshot`) at the capture position, while streaming goes on around them.
    ///
    /// Rows are read from the pages of the last captured commit (``position``), not through
    /// SQL: SQLite does not say which commit a read transaction sees, and the rows must show
    /// exactly the commit whose changes have the highest LSNs in the log so far. So each
    /// snapshot row gets an LSN above every change it reflects and below every change
    /// committed after it, and a sink applying by row version never lets a snapshot row
    /// overwrite a newer streamed change (docs/operations.md, "Re-snapshot on demand").
    ///
    /// - Whole-table requests (merged): one epoch, reason `requested`, of their tables.
    /// - Keyed requests: `snapshot` rows of the keys that exist, as one group, no markers; a
    ///   key that does not exist emits nothing.
    ///
    /// Call it only when caught up (the pin cannot be ahead of ``position``, so no checkpoint
    /// can have copied a newer page into the database file; checked all the same).
    /// - Returns: events appended.
    /// - Throws: ``SQLiteError``, ``EventLogError``, ``WALCaptureError/undecodable``.
    /// - Complexity: O(rows of the requested tables); memory O(one batch + the keys asked for).
    func serveSnapshotRequests() throws -> Int {
        guard started, pendingEpoch == nil else { return 0 }
        let requests = try log.pendingSnapshotRequests()
        guard !requests.isEmpty else { return 0 }
        let pages = try snapshotSource(atCommit: pageMap.commits.last)
        let safeFrames = pageMap.commits.last.map { $0.frameIndex + 1 } ?? 0
        func validate() throws {
            if let info = checkpointInfo(), Int(info.backfilledFrames) > safeFrames { throw BackfillRace() }
        }
        let batch = try WALEventBatch(log: log, source: source, limit: options.batchSize, byteLimit: options.batchBytes)
        var served: [(ids: [Int64], lsn: LSN)] = []
        do {
            let whole = requests.filter { !$0.isKeyed }
            if !whole.isEmpty {
                let names = whole.contains { $0.tables.isEmpty } ? nil : Set(whole.flatMap(\.tables))
                for name in names?.sorted() ?? [] where !tables.contains(where: { $0.schema.name == name }) {
                    logger.warning("\(sourcePath): a snapshot request names \(quoteIdentifier(name)), which is not a table of the source; ignoring that table")
                }
                let chosen = tables.filter { names?.contains($0.schema.name) ?? true }
                // An epoch that lists no tables covers every table to a sink: never send one.
                if chosen.isEmpty {
                    served.append((whole.map(\.id), LSN(try log.lastLSN().rawValue + Int64(batch.buffer.count))))
                } else {
                    // Before the marker: the batch stamps every event with its transaction's time.
                    batch.beginTransaction(timestampMilliseconds: EventLog.nowMilliseconds())
                    let epoch = try batch.addMarker(start: true, tables: chosen.map(\.schema.name), reason: "requested", validate: validate)
                    for table in chosen { try emitRows(of: table, at: pages, into: batch, validate: validate) }
                    batch.endTransaction()
                    try batch.addMarker(start: false, epoch: epoch, tables: chosen.map(\.schema.name), reason: "requested", validate: validate)
                    served.append((whole.map(\.id), epoch))
                }
            }
            for request in requests where request.isKeyed {
                let readAt = LSN(try log.lastLSN().rawValue + Int64(batch.buffer.count))
                guard let name = request.tables.first, let table = tables.first(where: { $0.schema.name == name }) else {
                    logger.warning("\(sourcePath): snapshot request \(request.id) names a table the source no longer has; nothing to send")
                    served.append(([request.id], readAt))
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
                served.append(([request.id], readAt))
            }
            try requestReadHook?()
            try validate()
        } catch is BackfillRace {
            // The pages read may be wrong: nothing is appended, the requests stay pending and
            // a resync epoch (which serves whole-table ones too) runs.
            try batch.discardTransaction()
            logger.warning("\(sourcePath): a checkpoint copied frames past the agent's position into the database file while serving a snapshot request; running a resync epoch")
            pendingEpoch = "resync"
            return 0
        } catch let e as PageDecodingError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: "\(e)")
        } catch let e as RowImageError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: e.description)
        }
        try batch.append(state: try positionState(appending: batch.buffer.count))
        for (ids, lsn) in served { try log.markSnapshotRequestsServed(ids, epoch: lsn) }
        logger.info("\(sourcePath): served \(requests.count) snapshot request(s): \(batch.appended) event(s)")
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
