import CDCCore
import CDCSQLite

/// The newest snapshot epoch marker in a log.
public struct SnapshotMarker: Hashable, Sendable {
    /// The marker's LSN.
    public var lsn: LSN
    /// Whether it is a start marker (`snapshot_start`); `false` for an end marker.
    public var isStart: Bool
    /// The epoch, its tables and reason, when the marker could be read (retention may have
    /// removed it after the lookup).
    public var epoch: SnapshotEpoch?
    /// The marker's `ts_ms`.
    public var timestampMilliseconds: Int64
}

extension EventLog {
    /// A partial index over the snapshot markers only, so the newest marker is found with
    /// one seek however long the log is; it costs nothing on the appends of change events.
    static let markerIndexSQL = """
        CREATE INDEX IF NOT EXISTS cdc_events_markers ON cdc_events(lsn) WHERE type IN ('snapshot_start', 'snapshot_end')
        """

    /// Adds the marker index to a log made before it existed (the agent calls this when it
    /// claims the log; building it reads the log once).
    /// - Throws: ``SQLiteError``.
    func addMarkerIndexIfMissing() throws {
        guard try connection.scalar("SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = 'cdc_events_markers'") == nil else { return }
        try connection.execute(Self.markerIndexSQL)
    }

    /// The newest `snapshot_start` or `snapshot_end` event still in the log, or `nil`.
    ///
    /// A start marker without its end means an epoch is being written (or was interrupted,
    /// and the agent will run it again when it starts).
    /// - Throws: ``SQLiteError``.
    /// - Complexity: one index seek (logs older than the marker index: a backward scan over
    ///   the events after the newest marker, until the agent next opens the log).
    public func lastSnapshotMarker() throws -> SnapshotMarker? {
        guard let row = try connection.query("""
            SELECT lsn, type, ts_ms FROM cdc_events WHERE type IN ('snapshot_start', 'snapshot_end') ORDER BY lsn DESC LIMIT 1
            """).first, case .integer(let lsn) = row[0], case .integer(let ts) = row[2] else { return nil }
        var epoch: SnapshotEpoch?
        if let event = try? read(after: LSN(lsn - 1), limit: 1).first {
            switch event.body {
            case .snapshotStart(let e), .snapshotEnd(let e): epoch = e
            default: break
            }
        }
        return SnapshotMarker(lsn: LSN(lsn), isStart: row[1].stringValue == "snapshot_start", epoch: epoch, timestampMilliseconds: ts)
    }

    /// The `ts_ms` of the event at `lsn`, or `nil` when the log does not hold it (not yet
    /// written, or removed by retention).
    /// - Throws: ``SQLiteError``.
    public func timestamp(ofEventAt lsn: LSN) throws -> Int64? {
        if case .integer(let ts)? = try connection.scalar("SELECT ts_ms FROM cdc_events WHERE lsn = ?", [.integer(lsn.rawValue)]) { return ts }
        return nil
    }

    /// The number of snapshot requests of sinks that the agent has not served yet.
    /// - Throws: ``SQLiteError``.
    public func pendingSnapshotRequestCount() throws -> Int {
        if case .integer(let n)? = try connection.scalar("SELECT count(*) FROM cdc_snapshot_requests WHERE served_epoch IS NULL") { return Int(n) }
        return 0
    }
}
