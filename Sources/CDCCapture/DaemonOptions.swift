import CDCTransport

/// How a capture daemon runs between captures (``AgentCapture/run(until:options:)``).
public struct DaemonOptions: Sendable, Equatable {
    /// The heartbeat interval `cdc-agent run` uses unless told otherwise: 10 s.
    public static let defaultHeartbeatIntervalMilliseconds: Int64 = 10_000
    /// How often `cdc-agent run --metrics-file` rewrites the file unless told otherwise: 15 s,
    /// Prometheus's default scrape interval.
    public static let defaultMetricsIntervalMilliseconds: Int64 = 15_000

    /// How often the daemon looks for commits when nothing wakes it, in milliseconds.
    public var pollIntervalMilliseconds: Int = 10
    /// The log's retention, applied every `retention.intervalMilliseconds`; `nil` keeps all.
    public var retention: RetentionPolicy?
    /// After this many milliseconds without an append, the daemon appends a `heartbeat`
    /// event (Debezium's `heartbeat.interval.ms`), so a sink's lag in seconds stays
    /// measurable while the source is idle. 0 disables heartbeats.
    public var heartbeatIntervalMilliseconds: Int64 = DaemonOptions.defaultHeartbeatIntervalMilliseconds
    /// Where to keep a Prometheus text file of ``AgentStatus`` (node_exporter's textfile
    /// collector format), rewritten atomically; `nil` writes none.
    public var metricsFilePath: String?
    /// How often the metrics file is rewritten, in milliseconds.
    public var metricsIntervalMilliseconds: Int64 = DaemonOptions.defaultMetricsIntervalMilliseconds

    public init(pollIntervalMilliseconds: Int = 10, retention: RetentionPolicy? = nil,
                heartbeatIntervalMilliseconds: Int64 = DaemonOptions.defaultHeartbeatIntervalMilliseconds,
                metricsFilePath: String? = nil, metricsIntervalMilliseconds: Int64 = DaemonOptions.defaultMetricsIntervalMilliseconds) {
        self.pollIntervalMilliseconds = pollIntervalMilliseconds
        self.retention = retention
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.metricsFilePath = metricsFilePath
        self.metricsIntervalMilliseconds = metricsIntervalMilliseconds
    }
}
