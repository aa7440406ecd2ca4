import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

extension SQLiteSink {
    private static let metaTableSQL = "CREATE TABLE IF NOT EXISTS _cdc_sink_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID"

    /// Checks that `log` is the event log this replica was built from, and remembers it on
    /// first use.
    ///
    /// Row versions are LSNs, so they are only comparable within one source's LSN sequence.
    /// A log that was deleted and created again has another id. The agent makes such a log
    /// continue the source's LSNs (its first LSN is above everything the old log held, and
    /// reads below that fail as pruned), so a replica that had applied the old log up to
    /// where the new one starts, or less, carries on (a gap is then a pruned offset, which
    /// ``GapPolicy`` handles). A replica that is *ahead* of where the new log starts cannot
    /// tell which of its rows are current, and the sink stops.
    ///
    /// - Throws: ``SinkError/sourceMismatch`` for another source's log,
    ///   ``SinkError/logReplaced`` in that last case.
    public func checkLogIdentity(_ log: EventLog) throws {
        // Another source's log first: its LSNs mean nothing for this replica, whatever they are.
        if let expected = metadata.source, let found = try log.sourceService(), expected != found {
            throw SinkError.sourceMismatch(replica: replicaPath, expected: expected, found: found)
        }
        try connection.execute(Self.metaTableSQL)
        let current = try log.logID()
        let stored = try connection.scalar("SELECT value FROM _cdc_sink_meta WHERE key = 'log_id'")?.stringValue
        guard stored != current else { return }
        let applied = try appliedLSN
        if stored != nil {
            let startsAfter = try log.prunedThrough()
            guard applied <= startsAfter else {
                throw SinkError.logReplaced(replica: replicaPath, log: log.path, applied: applied, newLogStartsAfter: startsAfter)
            }
            logger.warning("\(log.path) is a new event log (id \(current)); this replica was built from another one up to LSN \(applied), and the new log continues after LSN \(startsAfter)")
        }
        try connection.execute("INSERT OR REPLACE INTO _cdc_sink_meta(key, value) VALUES ('log_id', ?)", [.string(current)])
    }

    /// Starts a new, empty replica from a fresh snapshot epoch instead of replaying the log's
    /// whole history: asks the agent for an epoch (the agent must be running), waits until it
    /// is served, and positions the replica just before the epoch's start marker. Useful when
    /// the history holds a schema change this sink cannot apply, or is long.
    ///
    /// - Parameters:
    ///   - log: the event log, opened writable (the request is a row in it).
    ///   - requester: names the request in the log.
    ///   - pollInterval: how often to look whether the request was served.
    ///   - shouldStop: `true` gives up waiting.
    /// - Returns: the epoch, or `nil` when stopped while waiting.
    /// - Throws: ``SinkError/replicaNotEmpty`` when the replica already applied events.
    public func startFromSnapshot(of log: EventLog, requester: String, pollInterval: Duration = .milliseconds(5), until shouldStop: () -> Bool = { false }) throws -> LSN? {
        guard try appliedLSN == .zero else { throw SinkError.replicaNotEmpty(replica: replicaPath) }
        try checkLogIdentity(log)
        let id = try log.requestSnapshot(requester: requester, tables: projection.sourceTables ?? [])
        logger.info("requested snapshot epoch (request \(id)); waiting for the agent to serve it")
        while !shouldStop() {
            if let epoch = try log.servedEpoch(ofRequest: id) {
                guard let start = try log.read(after: LSN(epoch.rawValue - 1), limit: 1).first else { return nil }
                try connection.transaction {
                    try metadata.checkSource(start.source.service)
                    try metadata.storeOffset(LSN(epoch.rawValue - 1))
                }
                logger.info("starting from snapshot epoch \(epoch)")
                return epoch
            }
            Self.sleep(pollInterval)
        }
        return nil
    }
}
