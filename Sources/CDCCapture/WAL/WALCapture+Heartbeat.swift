import CDCCore
import CDCSQLite
import CDCTransport

extension WALCapture {
    /// Appends a heartbeat stamped `checkedAt` (the moment the daemon saw the WAL unchanged
    /// since its last capture, which read to the end), unless an epoch is pending.
    ///
    /// The heartbeat is stored with `state_lsn` moved to it and the rest of the stored WAL
    /// position unchanged: nothing was read since, so the position is still exact, and the
    /// status's source LSN stays equal to the log's end while the agent is caught up.
    /// - Returns: the heartbeat's LSN, or `nil` when the capture was not idle.
    /// - Throws: ``SQLiteError`` (busy included: the daemon backs off), ``EventLogError``.
    func emitHeartbeat(checkedAt: Int64) throws -> LSN? {
        guard started, pendingEpoch == nil else { return nil }
        let lsn = try log.lastLSN().next
        let heartbeat = Event(lsn: lsn, source: source, timestampMilliseconds: checkedAt, body: .heartbeat)
        try log.append([heartbeat], state: [WALStateKey.stateLSN: .integer(lsn.rawValue)])
        statistics.heartbeats += 1
        return lsn
    }

    /// The status as this capture sees it: the log's figures, and the committed frames after
    /// the agent's position from the wal-index it keeps open (opening and closing the
    /// `-shm` here would drop SQLite's locks: see ``WALIndexFile``).
    /// - Throws: ``SQLiteError``.
    public func status() throws -> AgentStatus {
        try AgentStatus.gather(log: log, service: source.service, databasePath: EventLog.canonicalSourcePath(sourcePath),
                               now: EventLog.nowMilliseconds()) { _, _ in
            if walIndex == nil { walIndex = WALIndexFile(databasePath: sourcePath) }
            var unread: Int64?
            if let index = walIndex?.lastCommittedFrame() {
                if let p = position, index.salts == p.header.saltBytes {
                    unread = max(0, Int64(index.frame) - Int64(p.frameIndex))
                } else {
                    unread = position == nil && WALFileStamp(path: sourcePath + "-wal") == nil ? 0 : Int64(index.frame)
                }
            }
            return SourcePending(pendingChangeRows: nil, unreadWALFrames: unread)
        }
    }
}
