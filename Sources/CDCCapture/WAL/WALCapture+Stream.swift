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
        let wal = try walFile()
        if frame == 0 && state[WALStateKey.salt1] == nil {
            // The position was the database file alone: nothing was in the WAL then. Any
            // WAL now is a generation the agent never saw, and its frames may have been
            // checkpointed already.
            guard let reader = try wal.flatMap({ try WALReader(source: $0) }) else { position = nil; return try loadTables() }
            _ = reader
            return "a WAL appeared while the agent was stopped"
        }
        guard let wal, let reader = try WALReader(source: wal) else { return "the WAL was removed while the agent was stopped" }
        let header = reader.position.header
        guard state[WALStateKey.salt1] == .integer(Int64(header.salt1)), state[WALStateKey.salt2] == .integer(Int64(header.salt2)),
              state[WALStateKey.checkpointSequence] == .integer(Int64(header.checkpointSequence)) else {
            return "the WAL was reset (checkpointed and restarted) while the agent was stopped"
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
        if let info = WALIndexCheckpointInfo.read(databasePath: sourcePath), Int(info.backfilledFrames) > frame {
            return "a checkpoint copied frames past the stored position into the database file while the agent was stopped"
        }
        position = r.position
        pageMap = map
        return try loadTables()
    }

    /// Reads the captured tables at ``position`` from its pages, and builds the page map
    /// there (a full walk of every b-tree: the start-up cost, never paid per transaction).
    /// - Returns: always `nil` (a convenience for ``resume(from:)``).
    @discardableResult
    func loadTables() throws -> String? {
        let pages = try snapshotSource(atCommit: pageMap.commits.last)
        try readSchema(from: pages)
        do {
            ownership = try PageOwnership.build(source: pages, roots: roots)
        } catch let e as PageDecodingError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: "\(e)")
        }
        return nil
    }

    /// Reads the schema of a snapshot into ``tables`` (versions stamped) and ``schemaCookie``.
    func readSchema(from pages: some PageSource) throws {
        do {
            let walker = try BTreeWalker(source: pages)
            let entries = try walker.schema()
            roots = Set(entries.filter { ($0.type == "table" || $0.type == "index") && $0.rootPage > 0 }.map(\.rootPage) + [1]).sorted()
            var fresh = try catalog.tables(from: entries)
            for i in fresh.indices { versions.stamp(&fresh[i].schema) }
            tables = fresh
            schemaCookie = walker.header.schemaCookie
        } catch let e as PageDecodingError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: "\(e)")
        }
    }

    /// The pages at `commit` of the current generation, or the database file alone.
    func snapshotSource(atCommit commit: WALPageMap.Commit?) throws -> any PageSource {
        guard let commit, let header = position?.header, let wal = try walFile() else {
            return try DatabaseFilePageSource(file: databaseFile)
        }
        return try WALSnapshotPageSource(file: databaseFile, wal: wal, walHeader: header, pageMap: pageMap, commit: commit)
    }

    func currentPageSize() throws -> Int {
        if let p = position { return p.header.pageSize }
        guard let header = try DatabaseHeader.decode(try databaseFile.readBytes(at: 0, count: DatabaseHeader.size)[...]) else {
            throw WALCaptureError.undecodable(path: sourcePath, reason: "the database header is invalid")
        }
        return header.pageSize
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

    /// Takes a new pin, reads and captures every committed transaction after ``position``,
    /// then releases the old pin (docs/wal-capture-protocol.md, step 1).
    /// - Returns: events appended.
    func advance() throws -> Int {
        let old = activePin
        try takePin()
        let appended = try readAndCapture()
        if let old, old != activePin { try endPin(old) }
        return appended
    }

    /// Captures the committed transactions after ``position`` (the caller holds a pin).
    func readAndCapture() throws -> Int {
        guard pendingEpoch == nil, let wal = try walFile() else { return 0 }
        var reader: WALReader
        if let p = position {
            reader = WALReader(resumingAt: p)
        } else {
            guard let r = try WALReader(source: wal) else { return 0 }
            reader = r
            position = r.position
            pageMap = WALPageMap()
        }
        let batch = try WALEventBatch(log: log, source: source, limit: options.batchSize)
        func flush() throws { try batch.append(state: try positionState(appending: batch.buffer.count)) }
        while true {
            let result = try reader.readCommittedTransactions(from: wal, maximumTransactionCount: 64)
            if result.end == .headerChanged {
                try flush()
                guard try followRestart(wal) else { return batch.appended }
                reader = WALReader(resumingAt: position!)
                continue
            }
            for t in result.transactions {
                guard try capture(t, into: batch) else {
                    try flush()
                    return batch.appended
                }
                if batch.isFull { try flush() }
            }
            if result.end != .transactionLimit { break }
        }
        try flush()
        pinnedSincePosition = true
        return batch.appended
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
        if pinnedSincePosition, let old, new.checkpointSequence == old.checkpointSequence &+ 1 {
            logger.debug("\(sourcePath): the WAL restarted (checkpoint sequence \(new.checkpointSequence))")
            position = reader.position
            pageMap = WALPageMap()
            return true
        }
        logger.warning("\(sourcePath): the WAL was reset in a way that may have lost frames (checkpoint sequence \(old?.checkpointSequence ?? 0) → \(new.checkpointSequence)); running a resync epoch")
        pendingEpoch = "resync"
        return false
    }

    /// Decodes one committed transaction into `batch` and advances ``position`` past it.
    /// - Returns: `false` when the old page versions it needed may have been overwritten by
    ///   a checkpoint: its events are dropped and ``pendingEpoch`` is set.
    private func capture(_ transaction: CommittedTransaction, into batch: WALEventBatch) throws -> Bool {
        let oldCommit = pageMap.commits.last
        let oldTables = tables
        let oldCookie = schemaCookie
        // Add first, then make both snapshots from the same map (one copy, no per-commit copy).
        pageMap.add(transaction)
        guard let newCommit = pageMap.commits.last else { return true }
        let oldPages = try snapshotSource(atCommit: oldCommit)
        let newPages = try snapshotSource(atCommit: newCommit)
        let changed = Set(transaction.frames.map(\.pageNumber))
        if changed.contains(1) {
            let header = try DatabaseHeader.decode(try newPages.page(1)[0..<DatabaseHeader.size])
            if let header, header.schemaCookie != oldCookie { try readSchema(from: newPages) }
        }
        // The old versions read from the database file are right only while no checkpoint has
        // copied a later frame into it (WALIndexCheckpointInfo): checked before any of this
        // transaction's events is appended, and once more at its end.
        let safeFrames = oldCommit.map { $0.frameIndex + 1 } ?? 0
        func validate() throws {
            if let info = WALIndexCheckpointInfo.read(databasePath: sourcePath), Int(info.backfilledFrames) > safeFrames {
                throw BackfillRace()
            }
        }
        batch.beginTransaction(timestampMilliseconds: EventLog.nowMilliseconds())
        do {
            // Take the map out while it changes, so the update happens in place (no copy).
            var map = try ownership ?? PageOwnership.build(source: oldPages, roots: roots)
            ownership = nil
            let applied = try map.apply(changedPages: changed, old: oldPages, new: newPages, roots: roots)
            ownership = map
            try WALTransactionDecoder.decode(old: oldPages, new: newPages, ownership: map, ownershipChanges: applied,
                                             oldTables: oldTables, newTables: tables) { change in
                try batch.add(change, validate: validate)
            }
            try validate()
        } catch is BackfillRace {
            try batch.discardTransaction()
            logger.warning("\(sourcePath): a checkpoint copied frames past the agent's position into the database file before they were captured; running a resync epoch")
            pendingEpoch = "resync"
            return false
        } catch let e as PageDecodingError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: "\(e)")
        } catch let e as RowImageError {
            throw WALCaptureError.undecodable(path: sourcePath, reason: e.description)
        }
        batch.endTransaction()
        position?.frameIndex = transaction.commitFrameIndex + 1
        if var p = position { p.checksum = try checksum(afterFrame: transaction.commitFrameIndex, header: p.header); position = p }
        return true
    }

    /// The cumulative checksum stored in the frame header of frame `index` (it covers every
    /// frame up to and including it: file format §4.2).
    private func checksum(afterFrame index: Int, header: WALHeader) throws -> WALChecksum {
        guard let wal = try walFile() else { return .zero }
        let bytes = try wal.readBytes(at: header.offset(ofFrame: index), count: WALFormat.frameHeaderSize)
        guard let frameHeader = WALFrameHeader.decode(bytes[...]) else { return .zero }
        return frameHeader.checksum
    }
}

/// A checkpoint copied frames past the old snapshot into the database file during a read.
struct BackfillRace: Error {}
