import CDCCore
import CDCTransport

/// Where capture stands for one source: what is still at the source, what the log holds, how
/// far each known sink has applied, whether a snapshot epoch is being written, and the
/// agent's last error (docs/operations.md, "Status").
///
/// `cdc-agent status` prints it (``render(json:)``) and the daemon writes it as a Prometheus
/// text file (``prometheusText()``). Every LSN is of this source's one LSN sequence; every
/// time is UTC milliseconds since 1970 unless the name says seconds.
public struct AgentStatus: Hashable, Sendable {
    /// The source database and what the agent has not captured from it yet.
    public struct Source: Hashable, Sendable {
        /// The service name events carry.
        public var service: String
        /// The source path, as the log records it (absolute).
        public var databasePath: String
        /// The capture mode the agent last ran in (`nil` before its first append).
        public var mode: CaptureMode?
        /// The source LSN: the highest LSN whose capture position the agent has stored (the
        /// agent state's `state_lsn`). Every event up to it is in the log, and the agent's
        /// place in the source (change sequence, or WAL frame) is the one stored with it; what
        /// the source holds beyond that place is pending. `nil` before the first stored state.
        public var capturedLSN: LSN?
        /// Change-table mode: rows in `_cdc_changes` after the consumed position (committed
        /// changes not yet in the log). `nil` in WAL mode, or when unknown.
        public var pendingChangeRows: Int64?
        /// WAL mode: committed WAL frames after the agent's stored position (the wal-index's
        /// `mxFrame` minus the stored frame; frames of a WAL generation the agent has not
        /// started count whole). `nil` in change-table mode, or when unknown (no wal-index).
        public var unreadWALFrames: Int64?

        public init(service: String, databasePath: String, mode: CaptureMode?, capturedLSN: LSN?, pendingChangeRows: Int64?, unreadWALFrames: Int64?) {
            self.service = service
            self.databasePath = databasePath
            self.mode = mode
            self.capturedLSN = capturedLSN
            self.pendingChangeRows = pendingChangeRows
            self.unreadWALFrames = unreadWALFrames
        }
    }

    /// The event log.
    public struct Log: Hashable, Sendable {
        public var path: String
        /// The highest LSN in the log (heartbeats included), or the highest pruned one, or 0.
        public var lastLSN: LSN
        /// The highest LSN retention removed (0 when none): the log holds `prunedThrough+1…lastLSN`.
        public var prunedThrough: LSN
        /// `ts_ms` of the event at ``lastLSN``, when the log holds it.
        public var lastEventTimestampMilliseconds: Int64?

        public init(path: String, lastLSN: LSN, prunedThrough: LSN, lastEventTimestampMilliseconds: Int64?) {
            self.path = path
            self.lastLSN = lastLSN
            self.prunedThrough = prunedThrough
            self.lastEventTimestampMilliseconds = lastEventTimestampMilliseconds
        }
    }

    /// A sink that acknowledged to the log (``SinkAcknowledgement``), with its lag.
    public struct Sink: Hashable, Sendable {
        public var acknowledgement: SinkAcknowledgement
        /// Events in the log after the sink's offset (heartbeats count: they are events).
        public var lagEvents: Int64
        /// How long ago the oldest event the sink has not applied was committed: 0 when the
        /// sink has applied the whole log; `now − ts_ms` of the event after its offset
        /// otherwise (when retention removed that one: of the event at its offset). `nil`
        /// when neither is known.
        public var lagSeconds: Double?

        public init(acknowledgement: SinkAcknowledgement, lagEvents: Int64, lagSeconds: Double?) {
            self.acknowledgement = acknowledgement
            self.lagEvents = lagEvents
            self.lagSeconds = lagSeconds
        }
    }

    /// A snapshot epoch whose start marker is the log's newest marker: being written, or
    /// interrupted (the agent runs it again at its next start).
    public struct RunningEpoch: Hashable, Sendable {
        /// The epoch: its start marker's LSN.
        public var epoch: LSN
        /// `initial`, `resync`, `requested`, `rename` or `replaced` (`nil` when unreadable).
        public var reason: String?
        /// The tables it covers (empty when unreadable).
        public var tables: [String]
        /// When the start marker was written.
        public var startedMilliseconds: Int64
        /// Events appended since the start marker.
        public var eventsSoFar: Int64

        public init(epoch: LSN, reason: String?, tables: [String], startedMilliseconds: Int64, eventsSoFar: Int64) {
            self.epoch = epoch
            self.reason = reason
            self.tables = tables
            self.startedMilliseconds = startedMilliseconds
            self.eventsSoFar = eventsSoFar
        }
    }

    public var source: Source
    public var log: Log
    /// Known sinks, by name.
    public var sinks: [Sink]
    /// The epoch being written, or `nil` (the last epoch ended, or there was none).
    public var runningEpoch: RunningEpoch?
    /// Snapshot requests of sinks the agent has not served yet.
    public var pendingSnapshotRequests: Int
    /// The agent's last recorded error (kept until a newer one replaces it).
    public var lastError: AgentErrorRecord?
    /// When these figures were read.
    public var generatedMilliseconds: Int64

    public init(source: Source, log: Log, sinks: [Sink], runningEpoch: RunningEpoch?, pendingSnapshotRequests: Int,
                lastError: AgentErrorRecord?, generatedMilliseconds: Int64) {
        self.source = source
        self.log = log
        self.sinks = sinks
        self.runningEpoch = runningEpoch
        self.pendingSnapshotRequests = pendingSnapshotRequests
        self.lastError = lastError
        self.generatedMilliseconds = generatedMilliseconds
    }

    /// Whether a snapshot epoch (a resync, or any other) is being written.
    public var isResyncRunning: Bool { runningEpoch != nil }
}
