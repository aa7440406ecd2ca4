import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// What the source holds beyond the agent's stored position (``AgentStatus/Source``).
struct SourcePending: Hashable, Sendable {
    var pendingChangeRows: Int64?
    var unreadWALFrames: Int64?
}

extension AgentStatus {
    /// Reads the status of a source from its event log, read-only: safe while the agent runs
    /// (`cdc-agent status`). Nothing is written to the log, the source, or anywhere else.
    ///
    /// - Parameters:
    ///   - databasePath: the source database, as given to `cdc-agent run --db`.
    ///   - logPath: its event log.
    ///   - now: the time lags are measured at, UTC milliseconds.
    /// - Throws: ``StatusError/noSuchFile(path:role:)`` for a missing path,
    ///   ``StatusError/notADatabase(path:)`` for a `--db` that is not an SQLite file,
    ///   ``EventLogError/notAnEventLog`` (or ``SQLiteError``) for a `--log` that is not a log,
    ///   ``StatusError/logNotClaimed(path:)`` for a log no agent has written yet,
    ///   ``EventLogError/sourceMismatch`` for the log of another database.
    public static func read(databasePath: String, logPath: String, now: Int64 = EventLog.nowMilliseconds()) throws -> AgentStatus {
        try requireFile(databasePath, role: "database")
        try requireFile(logPath, role: "event log")
        guard try isSQLiteFile(databasePath) else { throw StatusError.notADatabase(path: databasePath) }
        let log = try EventLog(path: logPath, readOnly: true)
        defer { try? log.close() }
        guard let recorded = try log.sourceDatabasePath(), let service = try log.sourceService() else {
            throw StatusError.logNotClaimed(path: logPath)
        }
        let given = EventLog.canonicalSourcePath(databasePath)
        guard recorded == given else {
            throw EventLogError.sourceMismatch(path: logPath, expected: "\(service) (\(given))", found: "\(service) (\(recorded))")
        }
        return try gather(log: log, service: service, databasePath: recorded, now: now) { mode, state in
            try probeSourceFiles(databasePath: databasePath, mode: mode, state: state)
        }
    }

    /// Gathers the figures from an open log; `pending` reads what the source holds beyond the
    /// stored position (from files for `cdc-agent status`, from the capture's own state in
    /// the daemon, which must not open and close the source's files: see ``WALIndexFile``).
    static func gather(log: EventLog, service: String, databasePath: String, now: Int64,
                       pending: (CaptureMode?, [String: SQLiteValue]) throws -> SourcePending) throws -> AgentStatus {
        // Acknowledgements and state first, the log's end after: the end only grows, so no
        // sink or stored position is ever read as ahead of it.
        let acknowledgements = try log.sinkAcknowledgements()
        let state = try log.agentState()
        let marker = try log.lastSnapshotMarker()
        let requests = try log.pendingSnapshotRequestCount()
        let lastLSN = try log.lastLSN()
        let pruned = try log.prunedThrough()
        let mode = state["mode"]?.stringValue.flatMap(CaptureMode.init(rawValue:))
        var captured: LSN?
        if case .integer(let v)? = state["state_lsn"] { captured = LSN(v) }
        let probe = try pending(mode, state)

        var sinks: [Sink] = []
        for ack in acknowledgements {
            let lagEvents = max(0, lastLSN.rawValue - ack.offset.rawValue)
            var lagSeconds: Double?
            if lagEvents == 0 {
                lagSeconds = 0
            } else if let ts = try log.timestamp(ofEventAt: ack.offset.next) ?? ack.eventTimestampMilliseconds {
                lagSeconds = Double(max(0, now - ts)) / 1000
            }
            sinks.append(Sink(acknowledgement: ack, lagEvents: lagEvents, lagSeconds: lagSeconds))
        }
        var running: RunningEpoch?
        if let marker, marker.isStart {
            running = RunningEpoch(epoch: marker.lsn, reason: marker.epoch?.reason, tables: marker.epoch?.tables ?? [],
                                   startedMilliseconds: marker.timestampMilliseconds, eventsSoFar: lastLSN.rawValue - marker.lsn.rawValue)
        }
        return AgentStatus(
            source: Source(service: service, databasePath: databasePath, mode: mode, capturedLSN: captured,
                           pendingChangeRows: probe.pendingChangeRows, unreadWALFrames: probe.unreadWALFrames),
            log: Log(path: log.path, lastLSN: lastLSN, prunedThrough: pruned, lastEventTimestampMilliseconds: try log.timestamp(ofEventAt: lastLSN)),
            sinks: sinks, runningEpoch: running, pendingSnapshotRequests: requests,
            lastError: AgentErrorRecord.read(fromState: state), generatedMilliseconds: now)
    }

    // MARK: - The source, from its files

    /// What the source holds beyond the stored position, read by a process that is not the
    /// agent: change-table mode counts the pending rows on a read-only connection; WAL mode
    /// reads the wal-index header (no SQLite connection, so nothing of SQLite's is locked).
    static func probeSourceFiles(databasePath: String, mode: CaptureMode?, state: [String: SQLiteValue]) throws -> SourcePending {
        switch mode {
        case .triggers?:
            let c = try Connection(path: databasePath, mode: .readOnly)
            defer { try? c.close() }
            return SourcePending(pendingChangeRows: try ChangeTableCapture.pendingChangeRows(in: c), unreadWALFrames: nil)
        case .wal?:
            return SourcePending(pendingChangeRows: nil, unreadWALFrames: unreadFrames(databasePath: databasePath, state: state))
        case nil:
            return SourcePending()
        }
    }

    /// Committed frames after the stored WAL position, from the `-shm` header: `mxFrame` at
    /// byte 16 and the WAL salts at byte 32 ("WAL-mode File Format" §2.1,
    /// https://www.sqlite.org/walformat.html). `nil` when there is a WAL but no readable index.
    static func unreadFrames(databasePath: String, state: [String: SQLiteValue]) -> Int64? {
        let walSize = (try? FileManager.default.attributesOfItem(atPath: databasePath + "-wal")[.size] as? Int) ?? 0
        guard walSize > 0 else { return 0 }
        let fd = open(databasePath + "-shm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 48)
        guard header.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 48, 0) }) == 48 else { return nil }
        let frames = Int64(header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self) })
        let salt1 = header[32..<36].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let salt2 = header[36..<40].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        guard state["wal_salt1"] == .integer(salt1), state["wal_salt2"] == .integer(salt2),
              case .integer(let stored)? = state["wal_frame"] else { return frames }
        return max(0, frames - stored)
    }

    private static func requireFile(_ path: String, role: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
            throw StatusError.noSuchFile(path: path, role: role)
        }
    }

    /// Whether the file starts with SQLite's header string ("SQLite format 3\0", file format §1.3.1).
    private static func isSQLiteFile(_ path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StatusError.noSuchFile(path: path, role: "database") }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16)) ?? Data()
        return head.count == 0 || Array(head) == Array("SQLite format 3\0".utf8)
    }
}
