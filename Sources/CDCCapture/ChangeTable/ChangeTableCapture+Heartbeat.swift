import CDCCore
import CDCSQLite
import CDCTransport

extension ChangeTableCapture {
    /// Appends a heartbeat if the capture is idle: started, no epoch pending, no event group
    /// open, and no change row waiting after the consumed position.
    ///
    /// A heartbeat is an empty batch: it is appended with the agent state (same change
    /// sequence, `state_lsn` at the heartbeat), and the source's `_cdc_meta.last_lsn` then
    /// moves to it, as after any batch. So a log lost and made again continues LSNs after
    /// the heartbeats too (an LSN is never reused), and a restart's position check still
    /// matches. Cost: one small write transaction on the agent's own `_cdc_meta` row per
    /// heartbeat.
    /// - Returns: the heartbeat's LSN, or `nil` when the capture was not idle.
    /// - Throws: ``SQLiteError`` (busy included: the daemon backs off), ``EventLogError``.
    func emitHeartbeat() throws -> LSN? {
        guard isStarted, pendingSnapshot == nil, openGroup == nil else { return nil }
        // The time before the look at the change table: everything committed before it is
        // in the log below the heartbeat (docs/operations.md, "Heartbeats").
        let checkedAt = EventLog.nowMilliseconds()
        guard try readChangeRows(after: consumedSeq, through: nil, limit: 1).isEmpty else { return nil }
        // The restart check accepts the source at the last state's LSN or at the batch's
        // start; a source left behind by a failed write (busy) is brought up first, or two
        // heartbeats would leave it two steps behind.
        let state = try log.agentState()
        let recorded = try connection.scalar("SELECT value FROM \(ChangeTableLayout.metaTable) WHERE key = 'last_lsn'")
        if case .integer(let stateLSN)? = state["state_lsn"], recorded != .integer(stateLSN) { try deleteConsumedRows() }
        let lsn = try log.lastLSN().next
        let heartbeat = Event(lsn: lsn, source: source, timestampMilliseconds: checkedAt, body: .heartbeat)
        try log.append([heartbeat], state: stateForLog(changeSeq: consumedSeq, appending: 1, lastRowFingerprint: try fingerprintOfChangeRow(consumedSeq)))
        try deleteConsumedRows()
        return lsn
    }

    /// Change rows waiting after the consumed position that `_cdc_meta` records
    /// (`consumed_seq`), or `nil` when the database has no change table.
    /// - Throws: ``SQLiteError``.
    static func pendingChangeRows(in c: Connection) throws -> Int64? {
        guard try c.tableExists(ChangeTableLayout.changeTable) else { return nil }
        return try c.transaction(.deferred) {
            var consumed: Int64 = 0
            if try c.tableExists(ChangeTableLayout.metaTable),
               case .integer(let v)? = try c.scalar("SELECT value FROM \(ChangeTableLayout.metaTable) WHERE key = 'consumed_seq'") { consumed = v }
            guard case .integer(let n)? = try c.scalar("SELECT count(*) FROM \(ChangeTableLayout.changeTable) WHERE seq > ?", [.integer(consumed)]) else { return 0 }
            return n
        }
    }

    /// The status as this capture sees it: the log's figures, and the change rows waiting
    /// after the consumed position, counted on the capture's own connection.
    /// - Throws: ``SQLiteError``.
    public func status() throws -> AgentStatus {
        try AgentStatus.gather(log: log, service: source.service, databasePath: EventLog.canonicalSourcePath(sourcePath),
                               now: EventLog.nowMilliseconds()) { _, _ in
            var count: Int64 = 0
            if case .integer(let n)? = try connection.scalar("SELECT count(*) FROM \(ChangeTableLayout.changeTable) WHERE seq > ?", [.integer(consumedSeq)]) { count = n }
            return SourcePending(pendingChangeRows: count, unreadWALFrames: nil)
        }
    }
}
