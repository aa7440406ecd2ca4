import CDCCore
import CDCSQLite
import CDCTransport
import CDCWAL
import Foundation

/// Agent-state keys of WAL capture, stored with each append (docs/wal-capture.md).
enum WALStateKey {
    static let mode = "mode"
    static let salt1 = "wal_salt1", salt2 = "wal_salt2", checkpointSequence = "wal_checkpoint_seq"
    static let frame = "wal_frame", checksum1 = "wal_checksum1", checksum2 = "wal_checksum2"
    static let databaseInode = "db_inode", databaseDevice = "db_device"
    static let schemas = "wal_schemas"
    static let stateLSN = "state_lsn"
    /// Written by ``WALCapture/close()`` only: it captured to the WAL's end under its barrier,
    /// then closed, and the database file then had this size and modification time.
    static let closedCaughtUp = "closed_caught_up", closedSize = "closed_db_size", closedModified = "closed_db_mtime_ns"
}

extension WALCapture {
    /// Reads the log's state and decides where to go on: after the stored WAL position when
    /// it still names this WAL generation and database file, else through an epoch.
    func start() throws {
        started = true
        let state = try log.agentState()
        versions = WALSchemaVersions(stateText: state[WALStateKey.schemas]?.stringValue)
        try takePin()
        guard state[WALStateKey.mode]?.stringValue == "wal" else {
            // No state at all, and the newest marker an unfinished initial epoch: the first
            // epoch was interrupted (its position is written with its last batch). It runs
            // again, still "initial": nothing was streamed, so no continuity was lost (the
            // change-table mode does the same; found by the kill -9 harness).
            if state[WALStateKey.stateLSN] == nil, let marker = try log.lastSnapshotMarker(), marker.isStart, marker.epoch?.reason == "initial" {
                logger.info("\(sourcePath): the first snapshot epoch was interrupted; running it again")
                pendingEpoch = "initial"
                return
            }
            pendingEpoch = try log.lastLSN() == .zero ? "initial" : "resync"
            if pendingEpoch == "resync" { logger.warning("\(sourcePath): the log holds events but no WAL position; running a resync epoch") }
            return
        }
        if let reason = try resume(from: state) {
            logger.warning("\(sourcePath): \(reason); running a resync epoch")
            pendingEpoch = "resync"
        }
    }

    /// Restores ``position``, ``pageMap`` and ``tables`` from the stored state.
    /// - Returns: why continuity is lost, or `nil` when capture can go on from the state.
    private func resume(from state: [String: SQLiteValue]) throws -> String? {
        let identity = try databaseIdentity()
        if state[WALStateKey.databaseInode] != .integer(identity.inode) || state[WALStateKey.databaseDevice] != .integer(identity.device) {
            return "the database file was replaced since the last run (another inode)"
        }
        guard case .integer(let frame)? = state[WALStateKey.frame] else { return "the stored WAL position is incomplete" }
        // A clean stop captured to the WAL's end under the barrier before it closed. If no
        // checkpoint has written the database file since (same size and modification time),
        // nothing was copied out of a WAL the agent did not read, so whatever WAL there is
        // now holds only frames written after the stop, from its first frame on.
        let stat = try databaseFileStat()
        let cleanStop = state[WALStateKey.closedCaughtUp] == .integer(1)
            && state[WALStateKey.closedSize] == .integer(stat.size) && state[WALStateKey.closedModified] == .integer(stat.modifiedNanoseconds)
        var hadGeneration = false
        if case .integer? = state[WALStateKey.salt1] { hadGeneration = true }
        let wal = try walFile()
        guard let wal, let reader = try WALReader(source: wal) else {
            // No WAL (or an empty one): the database file alone. Only a clean stop's stamp
            // (size, modification time) says that no WAL came and went meanwhile: a process
            // that writes and then closes the last connection checkpoints its WAL into the
            // file and deletes it, leaving nothing else to see.
            if cleanStop {
                position = nil
                pageMap = WALPageMap()
                try loadTables()
                return nil
            }
            return "the WAL was checkpointed and removed or truncated while the agent was stopped"
        }
        let header = reader.position.header
        let sameGeneration = state[WALStateKey.salt1] == .integer(Int64(header.salt1)) && state[WALStateKey.salt2] == .integer(Int64(header.salt2))
        guard sameGeneration else {
            if cleanStop, (checkpointInfo()?.backfilledFrames ?? 0) == 0 {
                position = reader.position
                pageMap = WALPageMap()
                try loadTables()
                return nil
            }
            return !hadGeneration
                ? "a WAL appeared while the agent was stopped"
                : "the WAL was reset (checkpointed and restarted) while the agent was stopped"
        }
        var r = reader
        var map = WALPageMap()
        while r.position.frameIndex < frame {
            let result = try r.readCommittedTransactions(from: wal, maximumTransactionCount: 1)
            guard let t = result.transactions.first else { return "the WAL ends before the stored position (frame \(frame))" }
            map.add(t)
        }
        guard r.position.frameIndex == frame,
              state[WALStateKey.checksum1] == .integer(Int64(r.position.checksum.first)),
              state[WALStateKey.checksum2] == .integer(Int64(r.position.checksum.second)) else {
            return "the WAL's frames up to the stored position differ from the ones captured"
        }
        if let info = checkpointInfo(), Int(info.backfilledFrames) > frame {
            return "a checkpoint copied frames past the stored position into the database file while the agent was stopped"
        }
        position = r.position
        pageMap = map
        try loadTables()
        return nil
    }

    /// The database file's size in bytes and modification time in nanoseconds.
    func databaseFileStat() throws -> (size: Int64, modifiedNanoseconds: Int64) {
        var st = stat()
        guard stat(sourcePath, &st) == 0 else { throw SQLiteError(code: .cantOpen, message: "cannot stat the database", path: sourcePath) }
        return (Int64(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    /// Reads the captured tables at ``position`` from its pages, and builds the page map
    /// there (a full walk of every b-tree: the start-up cost, never paid per transaction).
    func loadTables() throws {
        let pages = try snapshotSource(atCommit: pageMap.commits.last)
        try readSchema(from: pages)
        ownership = try mappingDecodingErrors { try PageOwnership.build(source: pages, roots: roots) }
    }

    /// Reads the schema of a snapshot into ``tables`` (versions stamped) and ``schemaCookie``.
    /// - Returns: what changed against ``tables`` as it was (empty on the first read).
    @discardableResult
    func readSchema(from pages: some PageSource) throws -> [SchemaChange] {
        do {
            let walker = try BTreeWalker(source: pages)
            let entries = try walker.schema()
            roots = Set(entries.filter { ($0.type == "table" || $0.type == "index") && $0.rootPage > 0 }.map(\.rootPage) + [1]).sorted()
            var fresh = try catalog.tables(from: entries)
            let old = tables
            let oldNames = Set(old.map(\.schema.name)), newNames = Set(fresh.map(\.schema.name))
            let oldByRoot = Dictionary(old.map { ($0.rootPage, $0) }, uniquingKeysWith: { a, _ in a })
            var changes: [SchemaChange] = []
            var renamedFrom = Set<String>()
            for i in fresh.indices {
                let name = fresh[i].schema.name
                if !oldNames.contains(name), let previous = oldByRoot[fresh[i].rootPage], !newNames.contains(previous.schema.name) {
                    // Same b-tree, old name gone: ALTER TABLE … RENAME TO.
                    versions.rename(from: previous.schema.name, to: name, schema: &fresh[i].schema)
                    renamedFrom.insert(previous.schema.name)
                    changes.append(SchemaChange(table: name, kind: .rename, previousName: previous.schema.name, schema: fresh[i].schema))
                } else if versions.stamp(&fresh[i].schema), !old.isEmpty || schemaCookie != 0 {
                    // Another table under an old name is announced by the transaction's decode
                    // (dropped, created, and its rows as a snapshot epoch), not as altered.
                    if let previous = old.first(where: { $0.schema.name == name }), fresh[i].replaces(previous) { continue }
                    changes.append(SchemaChange(table: name, kind: oldNames.contains(name) ? .alter : .create, schema: fresh[i].schema))
                }
            }
            for t in old where !newNames.contains(t.schema.name) && !renamedFrom.contains(t.schema.name) {
                changes.append(SchemaChange(table: t.schema.name, kind: .drop, schema: t.schema))
            }
            tables = fresh
            schemaCookie = walker.header.schemaCookie
            return changes.sorted { Array($0.table.utf8).lexicographicallyPrecedes(Array($1.table.utf8)) }
        } catch let e as PageDecodingError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: "\(e)")
        }
    }

    /// The pages at `commit` of the current generation, or the database file alone, each
    /// page read once (``CachedPageSource``).
    /// - Parameter wal: the `-wal` file of this read pass (`nil`: open it).
    func snapshotSource(atCommit commit: WALPageMap.Commit?, wal: FileByteSource? = nil) throws -> CachedPageSource<CapturePages> {
        guard let commit, let header = position?.header, let wal = try wal ?? walFile() else {
            return CachedPageSource(.file(try DatabaseFilePageSource(file: databaseFile)))
        }
        return CachedPageSource(.wal(try WALSnapshotPageSource(file: databaseFile, wal: wal, walHeader: header, pageMap: pageMap, commit: commit)))
    }

    /// The `-wal` file, or `nil` when there is none.
    func walFile() throws -> FileByteSource? {
        let path = sourcePath + "-wal"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try FileByteSource(path: path)
    }

    /// The database file's device and inode.
    func databaseIdentity() throws -> (device: Int64, inode: Int64) {
        var st = stat()
        guard stat(sourcePath, &st) == 0 else { throw SQLiteError(code: .cantOpen, message: "cannot stat the database", path: sourcePath) }
        return (Int64(bitPattern: UInt64(st.st_dev)), Int64(bitPattern: UInt64(st.st_ino)))
    }

    /// The agent state that records ``position`` (stored with the append that covers it).
    func positionState(appending count: Int) throws -> [String: SQLiteValue] {
        let identity = try databaseIdentity()
        var state: [String: SQLiteValue] = [
            WALStateKey.mode: .string("wal"),
            WALStateKey.databaseInode: .integer(identity.inode),
            WALStateKey.databaseDevice: .integer(identity.device),
            WALStateKey.schemas: .string(versions.stateText),
            WALStateKey.stateLSN: .integer(try log.lastLSN().rawValue + Int64(count)),
            WALStateKey.frame: .integer(Int64(position?.frameIndex ?? 0)),
            WALStateKey.closedCaughtUp: .integer(0),
            // Explicit NULLs: the state merges keys, and a stale generation must not survive.
            WALStateKey.salt1: .null, WALStateKey.salt2: .null, WALStateKey.checkpointSequence: .null,
            WALStateKey.checksum1: .null, WALStateKey.checksum2: .null,
        ]
        if let p = position {
            state[WALStateKey.salt1] = .integer(Int64(p.header.salt1))
            state[WALStateKey.salt2] = .integer(Int64(p.header.salt2))
            state[WALStateKey.checkpointSequence] = .integer(Int64(p.header.checkpointSequence))
            state[WALStateKey.checksum1] = .integer(Int64(p.checksum.first))
            state[WALStateKey.checksum2] = .integer(Int64(p.checksum.second))
        }
        return state
    }

    /// Takes a new pin, reads and captures the committed transactions after ``position`` up
    /// to at least the new pin's snapshot, then releases the old pin (docs/wal-capture-protocol.md,
    /// step 1).
    ///
    /// SQLite does not say which frame the new pin's snapshot ends at, but it cannot end past
    /// the frames the file held just after the pin was taken; reading that far is enough. It
    /// also bounds the work of one call while a service writes without pause, so the caller
    /// gets to run its barrier cycle between calls.
    /// - Returns: events appended, and whether reading reached the end of the committed frames.
    func advance() throws -> (appended: Int, caughtUp: Bool) {
        let old = activePin
        try takePin()
        var limit: Int?
        if let header = position?.header, let size = WALFileStamp(path: sourcePath + "-wal")?.size {
            limit = max(0, (Int(size) - WALFormat.headerSize) / header.frameSize)
        }
        let result = try readAndCapture(untilFrame: limit)
        if let old, old != activePin { try endPin(old) }
        return result
    }

    /// Captures the committed transactions after ``position`` (the caller holds a pin), up to
    /// the end of the committed frames, or, with `untilFrame`, until the position reaches that
    /// frame of the current generation.
    /// - Returns: events appended, and whether reading reached the end.
    func readAndCapture(untilFrame limit: Int? = nil) throws -> (appended: Int, caughtUp: Bool) {
        guard pendingEpoch == nil else { return (0, true) }
        let inode = WALFileStamp(path: sourcePath + "-wal")?.inode
        if position != nil, let known = walInode, inode != known {
            logger.warning("\(sourcePath)-wal was deleted or replaced while the agent ran (SQLite never does that while connections are open); frames written to the old file are out of reach: running a resync epoch")
            pendingEpoch = "resync"
            return (0, true)
        }
        walInode = inode
        guard let wal = try walFile() else { return (0, true) }
        var reader: WALReader
        if let p = position {
            reader = WALReader(resumingAt: p)
        } else {
            guard let r = try WALReader(source: wal) else { return (0, true) }
            reader = r
            position = r.position
            pageMap = WALPageMap()
        }
        let batch = try WALEventBatch(log: log, source: source, limit: options.batchSize, byteLimit: options.batchBytes)
        defer {
            statistics.events += batch.appended
            statistics.appends += batch.appendCount
            statistics.appendSeconds += batch.appendSeconds
        }
        func flush() throws { try batch.append(state: try positionState(appending: batch.buffer.count)) }
        while true {
            let result = try reader.readCommittedTransactions(from: wal, maximumTransactionCount: 64)
            if result.end == .headerChanged {
                try flush()
                guard try followRestart(wal), let p = position else { return (batch.appended, true) }
                reader = WALReader(resumingAt: p)
                // The limit counted frames of the old generation.
                continue
            }
            for t in result.transactions {
                guard try isCommittedInIndex(t, header: reader.position.header) else {
                    // Written but not yet published by its writer: capture it next time.
                    try flush()
                    pinnedSincePosition = true
                    return (batch.appended, true)
                }
                guard try capture(t, from: wal, into: batch) else {
                    try flush()
                    return (batch.appended, true)
                }
                if batch.isFull { try flush() }
            }
            if result.end != .transactionLimit {
                try checkNotDamaged(result.end, reader: reader, wal: wal)
                break
            }
            if let limit, reader.position.frameIndex >= limit {
                try flush()
                pinnedSincePosition = true
                return (batch.appended, false)
            }
        }
        try flush()
        pinnedSincePosition = true
        return (batch.appended, true)
    }

    /// Whether SQLite's wal-index already counts the transaction's commit frame (`mxFrame`).
    ///
    /// A writer appends its frames, syncs them as its `synchronous` setting asks, and only
    /// then publishes the commit in the wal-index (wal.c, `sqlite3WalFrames`): until then the
    /// transaction is not committed for any reader, and if the sync fails it never will be
    /// (the next writer overwrites those frames under the same salts). So a valid commit frame
    /// in the file is not enough; the agent waits, briefly, for the index to cover it. The
    /// inotify wake-up comes at the write, a moment before the index update, hence the short
    /// wait (up to 50 ms, in 200 µs steps) rather than a return to the poll interval.
    private func isCommittedInIndex(_ transaction: CommittedTransaction, header: WALHeader) throws -> Bool {
        if walIndex == nil { walIndex = WALIndexFile(databasePath: sourcePath) }
        guard walIndex != nil else { return true }  // no wal-index: nothing else can write either
        let salts = header.saltBytes
        let needed = transaction.commitFrameIndex + 1
        // One read of the index covers every transaction up to what it publishes: a pass over
        // many transactions reads the -shm once, not once each.
        if let known = publishedFrames, known.salts == salts, known.frame >= needed { return true }
        let deadline = DispatchTime.now().uptimeNanoseconds + 50_000_000
        while true {
            if let index = walIndex?.lastCommittedFrame(), index.salts == salts {
                publishedFrames = (index.salts, Int(index.frame))
                if Int(index.frame) >= needed { return true }
            }
            if DispatchTime.now().uptimeNanoseconds >= deadline { return false }
            usleep(200)
        }
    }

    /// The reader stops at the first frame that fails its salts or checksum, as SQLite's
    /// recovery does. That is the normal end of a WAL that restarted over a longer one, or a
    /// frame being written; but when SQLite's wal-index already counts frames past it as
    /// committed (same generation), the file is damaged, and going on silently would lose
    /// every later transaction. Checked twice, a moment apart, to rule out a torn read.
    /// - Throws: ``WALCaptureError/damagedWAL``.
    private func checkNotDamaged(_ end: WALEnd, reader: WALReader, wal: FileByteSource) throws {
        let frame: Int
        switch end {
        case .checksumMismatch(let f, _), .saltMismatch(let f, _), .invalidPageNumber(let f, _): frame = f
        default: return
        }
        if walIndex == nil { walIndex = WALIndexFile(databasePath: sourcePath) }
        let headerSalts = try wal.readBytes(at: 16, count: 8)
        func committedBeyond() -> Int? {
            guard let index = walIndex?.lastCommittedFrame(), index.salts == headerSalts, Int(index.frame) > frame else { return nil }
            return Int(index.frame)
        }
        guard committedBeyond() != nil else { return }
        usleep(2_000)
        var again = reader
        if try again.readCommittedTransactions(from: wal, maximumTransactionCount: 1).transactions.isEmpty, let committed = committedBeyond() {
            throw WALCaptureError.damagedWAL(path: sourcePath, frame: frame, committedFrames: committed)
        }
    }

    /// The WAL header changed under a held pin: SQLite restarted the WAL after a full
    /// checkpoint. Facts 2–4 of docs/wal-capture-protocol.md mean every frame of the old
    /// generation was read before (the pin had mark 0), so capture continues at frame 0 of
    /// the new one, unless the checkpoint sequence moved by more than one.
    /// - Returns: whether capture continues (otherwise a resync epoch is pending).
    private func followRestart(_ wal: FileByteSource) throws -> Bool {
        guard let reader = try WALReader(source: wal) else { return false }
        let old = position?.header
        let new = reader.position.header
        // Neither header counter says how many restarts happened: the checkpoint sequence is
        // each connection's own copy, and a connection that never restarted the WAL itself
        // writes fresh random salts when it starts one at frame 0 (wal.c, sqlite3WalFrames).
        // The pins are the proof instead: while the agent has held one without a gap since
        // it read up to its position, SQLite could only restart a WAL whose every frame was
        // backfilled, which a pin allows only up to frames the agent had read (facts 1-4 of
        // docs/wal-capture-protocol.md); a WAL deleted and created anew needs every other
        // connection closed, which the pins (shared locks on the database file) prevent.
        if pinnedSincePosition, let old, new.pageSize == old.pageSize {
            logger.debug("\(sourcePath): the WAL restarted (salt-1 \(old.salt1) → \(new.salt1))")
            position = reader.position
            pageMap = WALPageMap()
            return true
        }
        logger.warning("\(sourcePath): the WAL was reset in a way that may have lost frames (salt-1 \(old?.salt1 ?? 0) → \(new.salt1)); running a resync epoch")
        pendingEpoch = "resync"
        return false
    }

    /// Decodes one committed transaction into `batch` and advances ``position`` past it.
    /// - Parameter wal: the `-wal` file it was read from (opened once per read pass).
    /// - Returns: `false` when the old page versions it needed may have been overwritten by
    ///   a checkpoint: its events are dropped and ``pendingEpoch`` is set.
    private func capture(_ transaction: CommittedTransaction, from wal: FileByteSource, into batch: WALEventBatch) throws -> Bool {
        let oldCommit = pageMap.commits.last
        let oldTables = tables
        let oldCookie = schemaCookie
        // Add first, then make both snapshots from the same map (one copy, no per-commit copy).
        pageMap.add(transaction)
        guard let newCommit = pageMap.commits.last else { return true }
        let oldPages = try snapshotSource(atCommit: oldCommit, wal: wal)
        let newPages = try snapshotSource(atCommit: newCommit, wal: wal)
        let changed = Set(transaction.frames.map(\.pageNumber))
        var schemaChanges: [SchemaChange] = []
        var schemaRead = false
        if changed.contains(1) {
            let header = try DatabaseHeader.decode(try newPages.page(1)[0..<DatabaseHeader.size])
            if let header, header.schemaCookie != oldCookie { schemaChanges = try readSchema(from: newPages); schemaRead = true }
        }
        // The old versions read from the database file are right only while no checkpoint has
        // copied a later frame into it (WALIndexCheckpointInfo): checked before any of this
        // transaction's events is appended, and once more at its end.
        let validate = backfillCheck(readingAt: oldCommit)
        // The position before this transaction is still ``position`` while it is decoded; the
        // schema versions are the ones before it unless it changed the schema (readSchema
        // already stamped the new ones: then no state, and the old behaviour).
        let stateBefore: (() throws -> [String: SQLiteValue])? = !schemaRead
            ? { [unowned self] in try self.positionState(appending: batch.buffer.prefix { $0.lsn.rawValue < batch.transactionStartLSN }.count) }
            : nil
        batch.beginTransaction(timestampMilliseconds: EventLog.nowMilliseconds(), stateBefore: stateBefore)
        do {
            try mappingDecodingErrors {
                for change in schemaChanges { try batch.add(change, validate: validate) }
                // Take the map out while it changes, so the update happens in place (no copy).
                var map = try ownership ?? PageOwnership.build(source: oldPages, roots: roots)
                ownership = nil
                let applied = try map.apply(changedPages: changed, old: oldPages, new: newPages, roots: roots)
                ownership = map
                // Schema events come first, but a table replaced under its name (another key) is
                // announced as dropped and created, and its rows follow as a snapshot epoch.
                let replaced = try WALTransactionDecoder.decode(old: oldPages, new: newPages, ownership: map, ownershipChanges: applied,
                                                            oldTables: oldTables, newTables: tables,
                                                            affectedPageBudget: options.diffPageBudget) { change in
                    try batch.add(change, validate: validate)
                }
                for name in replaced.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                    guard let table = tables.first(where: { $0.schema.name == name }),
                          let previous = oldTables.first(where: { $0.schema.name == name }) else { continue }
                    batch.endTransaction()
                    try batch.add(SchemaChange(table: name, kind: .drop, schema: previous.schema), validate: validate)
                    try batch.add(SchemaChange(table: name, kind: .create, schema: table.schema), validate: validate)
                    try snapshot(table, at: newPages, reason: "replaced", into: batch, validate: validate)
                }
                // A renamed table's rows did not change, so no row event names them under the new
                // name: a snapshot epoch of the table, read from this commit's pages, does.
                for renamed in schemaChanges where renamed.kind == .rename {
                    guard let table = tables.first(where: { $0.schema.name == renamed.table }) else { continue }
                    batch.endTransaction()
                    try snapshot(table, at: newPages, reason: "rename", into: batch, validate: validate)
                }
                try validate()
            }
        } catch is BackfillRace {
            try batch.discardTransaction()
            logger.warning("\(sourcePath): a checkpoint copied frames past the agent's position into the database file before they were captured; running a resync epoch")
            pendingEpoch = "resync"
            return false
        }
        batch.endTransaction()
        statistics.transactions += 1
        position?.frameIndex = transaction.commitFrameIndex + 1
        position?.checksum = transaction.checksumAfterCommit
        return true
    }

    /// Emits a snapshot epoch of one table from a commit's pages (not through SQL: the epoch
    /// must show exactly that commit): start marker, one `snapshot` event per row as a group,
    /// end marker. Memory: one batch (the walk streams).
    private func snapshot(_ table: WALTable, at pages: some PageSource, reason: String, into batch: WALEventBatch, validate: () throws -> Void) throws {
        let epoch = try batch.addMarker(start: true, tables: [table.schema.name], reason: reason, validate: validate)
        batch.beginTransaction(timestampMilliseconds: EventLog.nowMilliseconds())
        let walker = try BTreeWalker(source: pages)
        let converter = ImageConverter(from: table, to: table)
        func emit(_ image: [SQLiteValue], rowid: Int64?) throws {
            let key = WALRowChange.key(of: table, rowid: rowid, image: image)
            try batch.add(WALRowChange(table: table.schema, operation: .snapshot, key: key, before: nil, after: image), validate: validate)
        }
        if table.layout.isWithoutRowID {
            try walker.forEachIndexEntry(rootPage: table.rootPage) { try emit(try converter.image(record: $0, rowid: nil), rowid: nil) }
        } else {
            try walker.forEachTableRow(rootPage: table.rootPage) { try emit(try converter.image(record: $0.values, rowid: $0.rowid), rowid: $0.rowid) }
        }
        batch.endTransaction()
        try batch.addMarker(start: false, epoch: epoch, tables: [table.schema.name], reason: reason, validate: validate)
    }
}

/// A checkpoint copied frames past the old snapshot into the database file during a read.
struct BackfillRace: Error {}

extension WALCapture {
    /// A check, to run before and after reading pages of `commit` (or of the database file,
    /// without one): they are right only while no checkpoint has copied a later frame into
    /// the file (WALIndexCheckpointInfo, docs/wal-capture-protocol.md).
    /// - Returns: a function that throws ``BackfillRace`` once that happened.
    func backfillCheck(readingAt commit: WALPageMap.Commit?) -> () throws -> Void {
        let safeFrames = commit.map { $0.frameIndex + 1 } ?? 0
        return { [unowned self] in
            if let info = self.checkpointInfo(), Int(info.backfilledFrames) > safeFrames { throw BackfillRace() }
        }
    }

    /// Runs `body`, turning page and record decoding errors into
    /// ``WALCaptureError/undecodable(path:reason:)`` for this source.
    func mappingDecodingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as PageDecodingError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: "\(e)")
        } catch let e as RowImageError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: e.description)
        }
    }
}
