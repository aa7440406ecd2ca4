import CDCCore
import CDCSQLite
import Foundation

/// What a sink last reported to the log: how far it has applied (DESIGN.md, layer 6:
/// "acknowledge").
///
/// The replica's own offset (in the replica, written with the rows) is the truth; an
/// acknowledgement is a report of it that the agent and `cdc-agent status` can read without
/// knowing where the replica is. It may trail the replica's offset a little (sinks
/// acknowledge at most about once a second) and never runs ahead of it.
public struct SinkAcknowledgement: Hashable, Sendable {
    /// The sink's name, unique per log (cdc-sink uses the replica's absolute path).
    public var sink: String
    /// The highest LSN the sink had applied and committed when it acknowledged.
    public var offset: LSN
    /// `ts_ms` of the event at ``offset`` (UTC milliseconds since 1970), when the sink knew it.
    public var eventTimestampMilliseconds: Int64?
    /// When the sink acknowledged, UTC milliseconds since 1970 (the sink's clock).
    public var acknowledgedMilliseconds: Int64

    public init(sink: String, offset: LSN, eventTimestampMilliseconds: Int64?, acknowledgedMilliseconds: Int64) {
        self.sink = sink
        self.offset = offset
        self.eventTimestampMilliseconds = eventTimestampMilliseconds
        self.acknowledgedMilliseconds = acknowledgedMilliseconds
    }
}

extension EventLog {
    /// The table of sink acknowledgements, one row per sink. Logs made before it existed get
    /// it from the first sink that acknowledges with write access.
    static let acknowledgementsTableSQL = """
        CREATE TABLE IF NOT EXISTS cdc_sink_acks(sink TEXT PRIMARY KEY, lsn INTEGER NOT NULL, event_ts_ms INTEGER, acked_ms INTEGER NOT NULL) WITHOUT ROWID
        """

    /// Records how far a sink has applied, replacing its previous acknowledgement (a replica
    /// rebuilt under the same name starts again from a lower offset, and says so).
    ///
    /// One short write transaction on the log; with the log's `synchronous=FULL` it costs an
    /// fsync, which is why sinks rate-limit their acknowledgements.
    ///
    /// - Parameters:
    ///   - sink: the sink's name (unique per log).
    ///   - offset: the LSN the sink has applied and committed.
    ///   - eventTimestampMilliseconds: `ts_ms` of the event at `offset`, if known.
    ///   - now: the acknowledgement time, UTC milliseconds (a parameter so tests can set it).
    /// - Throws: ``SQLiteError``: `SQLITE_READONLY` when the log was opened read-only or its
    ///   file cannot be written (sinks treat acknowledging as optional and carry on), busy
    ///   when the agent holds the log's write lock past the busy timeout.
    public func acknowledge(sink: String, offset: LSN, eventTimestampMilliseconds: Int64?, now: Int64 = EventLog.nowMilliseconds()) throws {
        if try !connection.tableExists("cdc_sink_acks") { try connection.execute(Self.acknowledgementsTableSQL) }
        try connection.execute("INSERT OR REPLACE INTO cdc_sink_acks(sink, lsn, event_ts_ms, acked_ms) VALUES (?, ?, ?, ?)",
                               [.string(sink), .integer(offset.rawValue), eventTimestampMilliseconds.map { .integer($0) } ?? .null, .integer(now)])
    }

    /// Every sink's latest acknowledgement, by sink name (empty when no sink has acknowledged,
    /// or the log predates acknowledgements).
    /// - Throws: ``SQLiteError``.
    /// - Complexity: O(sinks).
    public func sinkAcknowledgements() throws -> [SinkAcknowledgement] {
        guard try connection.tableExists("cdc_sink_acks") else { return [] }
        return try connection.query("SELECT sink, lsn, event_ts_ms, acked_ms FROM cdc_sink_acks ORDER BY sink").compactMap { row in
            guard let sink = row[0].stringValue, case .integer(let lsn) = row[1], case .integer(let acked) = row[3] else { return nil }
            let ts: Int64? = if case .integer(let t) = row[2] { t } else { nil }
            return SinkAcknowledgement(sink: sink, offset: LSN(lsn), eventTimestampMilliseconds: ts, acknowledgedMilliseconds: acked)
        }
    }

    /// Removes a sink's acknowledgement (a read model that was retired), so status stops
    /// reporting it.
    /// - Returns: whether there was one.
    /// - Throws: ``SQLiteError``.
    @discardableResult
    public func forgetSink(_ sink: String) throws -> Bool {
        guard try connection.tableExists("cdc_sink_acks") else { return false }
        return try connection.execute("DELETE FROM cdc_sink_acks WHERE sink = ?", [.string(sink)]) > 0
    }
}
