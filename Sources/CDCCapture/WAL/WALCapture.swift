import CDCCore
import CDCSQLite
import CDCTransport
import CDCWAL
import Foundation

/// Log-based capture: turns every committed transaction in the source's `-wal` file into v1
/// change events, with no trigger and no write to the service's database
/// (docs/wal-capture.md, docs/wal-capture-protocol.md).
///
/// The agent reads the WAL and the database file itself (Sources/CDCWAL) and holds read
/// transactions ("pins") through SQLite so that no frame it has not read can be overwritten
/// and no page it still needs in the database file can be replaced by a checkpoint. For
/// each committed transaction it compares the affected b-trees before and after the commit
/// and emits inserts, updates (before and after images) and deletes.
///
/// Not thread-safe: one owner drives it (`captureAvailable()` or `run(until:)`).
public final class WALCapture {
    /// Tuning knobs; the defaults suit a service writing small transactions.
    public struct Options: Sendable {
        /// Events per append to the log (memory is bounded by it and one transaction's pages).
        public var batchSize: Int = 5_000
        /// At most about this many bytes of row images per append, whatever the count: wide
        /// rows would otherwise make a batch of `batchSize` events large (promise 7).
        public var batchBytes: Int = 4 << 20
        /// A table whose affected pages in one transaction exceed this many is diffed by
        /// merging full walks of its old and new b-tree (a page per level in memory) rather
        /// than by holding the affected pages' rows (docs/wal-capture.md, "Memory").
        public var diffPageBudget: Int = 1_024
        /// How long to wait for the service's write lock when the agent needs a barrier.
        public var busyTimeoutMilliseconds: Int32 = 5_000
        /// Once the WAL holds this many frames and the agent has read them all, it runs one
        /// barrier cycle so that the WAL can restart (SQLite's default autocheckpoint is 1,000).
        public var checkpointThresholdFrames: Int = 1_000
        /// How long the barrier waits for the service's write lock before it gives up until
        /// the next capture. The wait blocks nobody (the agent holds nothing while it waits);
        /// a service that writes without pause needs one, or the WAL could never restart.
        public var barrierWaitMilliseconds: Int32 = 100
        /// How long the daemon (``WALCapture/run(until:options:)``)
        /// lets commits gather after an append before it captures again: the group commit
        /// of Kafka's `linger.ms`. A service committing one row at a time otherwise costs the
        /// agent a wake-up, two read transactions and a durable append (with its fsync) per
        /// commit. A commit that follows a quiet spell longer than this is captured at once,
        /// so an idle source's latency is unchanged; under a steady stream of commits an event
        /// waits at most this much longer. 0 captures on every wake-up.
        public var lingerMilliseconds: Int = 5
        public init() {}
    }

    /// What the capture has done so far, for monitoring and benchmarks.
    public struct Statistics: Sendable, Equatable {
        /// Committed WAL transactions decoded.
        public var transactions = 0
        /// Events appended (row changes, schema events, epochs).
        public var events = 0
        /// Durable appends to the log (each one a log transaction and its fsync).
        public var appends = 0
        /// Barrier cycles run (the agent held the service's write lock to let the WAL restart).
        public var barrierCycles = 0
        /// The most WAL frames read (and their events appended) while one barrier was held;
        /// at most ``WALCapture/barrierReadLimitFrames``.
        public var mostFramesReadUnderBarrier = 0
        /// The longest a barrier was held, in milliseconds (reading, appending, the
        /// checkpoint of at most ``WALCapture/barrierCopyLimitFrames`` frames and its fsyncs).
        public var longestBarrierMilliseconds = 0.0
        /// Seconds spent appending to the log (JSON encoding and the durable insert); the rest
        /// of the capture's time is reading and decoding.
        public var appendSeconds = 0.0
        /// Heartbeats appended by the daemon (not counted in ``events``).
        public var heartbeats = 0
    }

    /// What the capture has done so far.
    public internal(set) var statistics = Statistics()

    /// The source database path as given.
    public let sourcePath: String
    /// The event log the capture appends to.
    public let log: EventLog
    let logger: Logger
    let options: Options
    let source: SourceInfo
    let agentLock: AgentLock
    /// Two connections that take turns holding the pin (a new pin is taken before the old
    /// one is released), and the connection that takes the barrier and checkpoints.
    let pins: [Connection]
    let barrier: Connection
    let catalog: WALSchemaCatalog
    /// Kept open for the capture's life, like ``walIndex``: closing a descriptor of the
    /// database file would drop the process's POSIX locks on it, SQLite's included.
    let databaseFile: FileByteSource
    /// The `-shm` file, opened once (see ``WALIndexFile`` for why it is never reopened).
    var walIndex: WALIndexFile?
    /// The inode of the `-wal` file ``position`` was read from. SQLite never deletes or
    /// replaces the WAL while connections (the agent's) are open; if it changes, someone did,
    /// and the frames written to the old file are out of reach.
    var walInode: UInt64?
    /// Where the last barrier cycle left the WAL fully copied (salts, frame): no cycle is
    /// worth running again before the WAL restarts or grows by the threshold.
    var lastFullCycle: (salt1: UInt32, salt2: UInt32, frame: Int)?
    /// The last `mxFrame` read from the wal-index, with the salts of its generation: frames
    /// up to it are published and stay so within the generation.
    var publishedFrames: (salts: [UInt8], frame: Int)?

    /// Which of ``pins`` holds a read transaction now.
    var activePin: Int?
    /// The WAL position after the last transaction whose events are durable (or that had
    /// none); `nil` when the WAL is empty or missing (the database file alone).
    var position: WALPosition?
    /// Frames of the current WAL generation up to ``position``.
    var pageMap = WALPageMap()
    /// The captured tables at ``position``, and their versions.
    var tables: [WALTable] = []
    var versions = WALSchemaVersions(stateText: nil)
    /// Every b-tree root at ``position`` (page 1, tables and indexes), for the page map.
    var roots: [UInt32] = [1]
    /// Page → b-tree map at ``position`` (4 bytes or so a page).
    var ownership: PageOwnership?
    var schemaCookie: UInt32 = 0
    /// Set when a resync or initial epoch must run before streaming goes on.
    var pendingEpoch: String?
    var started = false
    /// The log's `PRAGMA data_version` when its snapshot requests were last looked at: a
    /// request is a commit of another connection to the log, so only a change means one.
    var requestsLogVersion: Int64 = -1
    /// A `requested` epoch being read in chunks between capture passes (WALCapture+Requests.swift).
    var incrementalEpoch: IncrementalEpoch?
    /// Tests only: runs while a snapshot request is served, after its rows were read and
    /// before they are appended (a writer committing there must win).
    var requestReadHook: (() throws -> Void)?
    /// Whether a pin has been held without a gap since ``position`` was read (a restarted
    /// WAL is then known to hold nothing unread from the old generation).
    var pinnedSincePosition = false

    /// Opens the source for WAL capture.
    ///
    /// - Parameters:
    ///   - sourcePath: the service database (must exist and be in WAL mode).
    ///   - log: the event log to append to (claimed for this source).
    ///   - service: the service name; `nil` uses the file name without extension.
    ///   - logger: progress and warnings.
    ///   - options: batch size, busy timeout, checkpoint threshold.
    /// - Throws: ``SQLiteError`` (missing, not a database, unreadable),
    ///   ``WALCaptureError/notInWALMode``, ``WALCaptureError/triggersInstalled``,
    ///   ``CaptureError/anotherAgentRunning``, ``EventLogError/sourceMismatch``.
    public init(sourcePath: String, log: EventLog, service: String?, logger: Logger, options: Options = Options()) throws {
        try Self.preflight(sourcePath: sourcePath)
        self.sourcePath = sourcePath
        self.log = log
        self.logger = logger
        self.options = options
        // Read-write connections that only ever read: a checkpoint (run on a pin connection
        // between pins) needs one; SQLite answers SQLITE_IOERR on a read-only connection.
        pins = [try Connection(path: sourcePath, mode: .readWrite, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds),
                try Connection(path: sourcePath, mode: .readWrite, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)]
        barrier = try Connection(path: sourcePath, mode: .readWrite, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
        catalog = try WALSchemaCatalog()
        databaseFile = try FileByteSource(path: sourcePath)
        agentLock = try AgentLock(sourcePath: sourcePath)
        let name = service ?? ChangeTableCapture.defaultServiceName(forPath: sourcePath)
        source = SourceInfo(service: name, database: sourcePath, mode: .wal)
        try log.claim(for: source)
    }

    /// Checks, without writing anything, that `sourcePath` can be captured from its WAL.
    /// - Throws: ``SQLiteError``, ``CaptureError/notASource``, ``WALCaptureError``.
    public static func preflight(sourcePath: String) throws {
        guard FileManager.default.fileExists(atPath: sourcePath) else {
            throw SQLiteError(code: .cantOpen, message: "no such file", path: sourcePath)
        }
        let c = try Connection(path: sourcePath, mode: .readOnly)
        defer { try? c.close() }
        try ChangeTableCapture.checkIsServiceDatabase(c)
        let mode = try c.journalMode()
        guard mode == "wal" else { throw WALCaptureError.notInWALMode(path: sourcePath, journalMode: mode) }
        if try c.tableExists(ChangeTableLayout.metaTable) { throw WALCaptureError.triggersInstalled(path: sourcePath) }
    }

    /// Stops capture cleanly: captures to the WAL's end under the barrier (so the stored
    /// position is the end of what was committed), closes the source connections, and records
    /// in the log that it stopped caught up, with the database file's size and modification
    /// time. When this agent's connections are the last ones, SQLite checkpoints the WAL into
    /// the file and deletes it on close; the next start then knows nothing was lost (see
    /// docs/wal-capture.md, "Positions, restarts and resync epochs"). The log stays open.
    public func close() throws {
        var caughtUp = false
        // As in a barrier cycle: keep up while waiting, and read only a short tail under the
        // lock (the service's writers wait for it). With more left, release the lock, catch up
        // without it and try again; a service that outruns the agent every time leaves it
        // stopping without the marker (the next start runs a resync epoch).
        var attempts = 0
        while started, pendingEpoch == nil, attempts < Self.closeAttempts {
            attempts += 1
            var step = try? advance()
            while let s = step, !s.caughtUp, pendingEpoch == nil { step = try? advance() }
            guard step != nil, pendingEpoch == nil else { break }
            let acquired = (try? acquireBarrier(whileWaiting: { backlog in
                if backlog > Self.barrierReadLimitFrames, self.pendingEpoch == nil { _ = try self.advance() }
            })) == true
            guard acquired else { continue }
            if unreadFrames() <= Self.barrierReadLimitFrames {
                caughtUp = (try? readAndCapture())?.caughtUp == true && pendingEpoch == nil
                try? barrier.execute("ROLLBACK")
                break
            }
            try? barrier.execute("ROLLBACK")
        }
        for c in pins { try? c.execute("ROLLBACK"); try c.close() }
        try barrier.close()
        walIndex = nil  // only now: no SQLite lock of this process is left to lose
        if caughtUp, let stat = try? databaseFileStat() {
            try log.saveState([WALStateKey.closedCaughtUp: .integer(1), WALStateKey.closedSize: .integer(stat.size),
                               WALStateKey.closedModified: .integer(stat.modifiedNanoseconds)])
        }
        agentLock.release()
    }

    /// How often ``close()`` catches up and tries for a short tail under the barrier before it
    /// stops without the caught-up marker.
    static let closeAttempts = 10

    /// The wal-index's checkpoint progress (`nil` without a `-shm` file).
    func checkpointInfo() -> WALIndexCheckpointInfo? {
        if walIndex == nil { walIndex = WALIndexFile(databasePath: sourcePath) }
        return walIndex?.checkpointInfo()
    }

    /// Captures every transaction committed so far, or until `stop` says so.
    @discardableResult
    public func captureAvailable(until stop: () -> Bool) throws -> Int {
        if !started { try start() }
        var appended = 0
        if let reason = pendingEpoch {
            guard let n = try runEpoch(reason: reason, until: stop) else { return 0 }
            appended += n
        }
        while true {
            // Each step reads at least to the snapshot of the pin it took; a service writing
            // without pause keeps the steps coming until the agent catches up.
            var caughtUp = false
            repeat {
                let step = try advance()
                appended += step.appended
                caughtUp = step.caughtUp
            } while !caughtUp && pendingEpoch == nil && !stop()
            // Only when caught up: under the barrier the agent reads what is left, and the
            // service's writers wait for that.
            if caughtUp, let p = position, p.frameIndex >= options.checkpointThresholdFrames {
                appended += try barrierCycle()
            }
            // Requests are served at the capture position, so only when caught up
            // (docs/operations.md, "Re-snapshot on demand").
            guard caughtUp, pendingEpoch == nil, !stop() else { break }
            let logVersion = try log.changeCounter()
            if logVersion != requestsLogVersion {
                requestsLogVersion = logVersion
                appended += try serveSnapshotRequests()
            }
            // One chunk, then capture again what was committed meanwhile, until the epoch ends.
            guard incrementalEpoch != nil, pendingEpoch == nil else { break }
            appended += try serveEpochChunk()
        }
        return appended
    }

    /// Runs until `stop` returns true: wakes on writes to the source's files (inotify on
    /// Linux, ``WALChangeWaiter``), and at least every `options.pollIntervalMilliseconds`
    /// checks the WAL file's stamp (size, modification time, inode: one `stat`) as a
    /// fallback. Between captures it applies the log's retention every
    /// `retention.intervalMilliseconds`, appends a heartbeat when nothing was appended for
    /// `options.heartbeatIntervalMilliseconds`, and rewrites the metrics file
    /// (``DaemonOptions``). Busy errors (the service holding its write lock when the agent
    /// needs its barrier for an epoch) are retried with back-off instead of ending the loop,
    /// and recorded as the agent's last error, as is any error that ends it.
    /// - Throws: any other error of ``captureAvailable()``.
    public func run(until stop: () -> Bool, options daemon: DaemonOptions) throws {
        let pollIntervalMilliseconds = daemon.pollIntervalMilliseconds
        let waiter = WALChangeWaiter(databasePath: sourcePath)
        logger.debug("\(sourcePath): waking on \(waiter.isWatching ? "inotify, with a \(pollIntervalMilliseconds) ms poll as fallback" : "a \(pollIntervalMilliseconds) ms poll")")
        var lastSeen: WALFileStamp?
        var chores = DaemonChores(log: log, options: daemon, logger: logger)
        defer { chores.writeMetricsIfDue(force: true) { try status() } }
        let linger = UInt64(max(0, options.lingerMilliseconds)) * 1_000_000
        var lastAppend: UInt64?
        while !stop() {
            chores.writeMetricsIfDue { try status() }
            do {
                // Taken before the stamp: when the stamp shows no change, every commit before
                // this moment is captured, which is what a heartbeat at this time claims.
                let checkedAt = EventLog.nowMilliseconds()
                let stamp = WALFileStamp(path: sourcePath + "-wal")
                let requestsMayWait = try log.changeCounter() != requestsLogVersion
                if stamp != lastSeen || pendingEpoch != nil || !started || chores.isBackingOff || requestsMayWait || incrementalEpoch != nil {
                    if let last = lastAppend, pendingEpoch == nil, !chores.isBackingOff {
                        // Group commit: let the commits that follow an append gather.
                        let since = DispatchTime.now().uptimeNanoseconds - last
                        if since < linger { usleep(useconds_t((linger - since) / 1_000)) }
                    }
                    let appended = try captureAvailable(until: stop)
                    lastAppend = appended > 0 ? DispatchTime.now().uptimeNanoseconds : nil
                    lastSeen = stamp
                    chores.succeeded()
                    chores.noteAppended(appended)
                    continue
                }
                try chores.applyRetentionIfDue()
                try chores.heartbeatIfDue { try emitHeartbeat(checkedAt: checkedAt) }
            } catch let error as SQLiteError where error.isBusy {
                chores.backOff(after: error)
                continue
            } catch {
                chores.record(error)
                throw error
            }
            waiter.wait(timeoutMilliseconds: max(1, pollIntervalMilliseconds))
        }
    }
}

/// A cheap identity of the WAL file's state: size, modification time and inode.
struct WALFileStamp: Equatable {
    var size: Int64
    var modified: Double
    var inode: UInt64

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        size = Int64(st.st_size)
        modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        inode = UInt64(st.st_ino)
    }
}
