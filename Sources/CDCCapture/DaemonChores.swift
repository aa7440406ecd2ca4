import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// The chores both capture daemons share between captures: retention on its interval,
/// back-off when the service holds its write lock past the busy timeout (the daemon retries
/// instead of ending; STYLE.md, back-off on retries), heartbeats while the source is idle,
/// the metrics file, and the record of the last error (docs/operations.md).
struct DaemonChores {
    let log: EventLog
    let options: DaemonOptions
    let logger: Logger
    private var lastRetention: Int64?
    private var lastBusyLog = Date.distantPast
    /// When the daemon last appended anything (events or a heartbeat), uptime nanoseconds;
    /// the daemon's start counts, so the first heartbeat comes an interval after it.
    private var lastActivity = DispatchTime.now().uptimeNanoseconds
    private var lastMetrics: UInt64?
    private var lastMetricsWarning = Date.distantPast
    /// The current back-off, 0 when the last capture went through.
    private(set) var backoffMilliseconds = 0

    init(log: EventLog, options: DaemonOptions, logger: Logger) {
        self.log = log
        self.options = options
        self.logger = logger
    }

    /// Whether the last capture hit a busy error (the daemon then captures again, after the wait).
    var isBackingOff: Bool { backoffMilliseconds > 0 }

    /// The last capture went through.
    mutating func succeeded() { backoffMilliseconds = 0 }

    /// Applies the retention policy when its interval has passed since the last time.
    /// - Throws: ``SQLiteError`` from the log.
    mutating func applyRetentionIfDue() throws {
        guard let retention = options.retention,
              lastRetention.map({ EventLog.nowMilliseconds() - $0 >= retention.intervalMilliseconds }) ?? true else { return }
        lastRetention = EventLog.nowMilliseconds()
        let removed = try log.apply(retention)
        if removed > 0 { logger.info("\(log.path): retention removed \(removed) event(s)") }
    }

    /// Waits after a busy error: 50 ms, doubling up to 2 s; says so, and records it as the
    /// agent's last error, at most every 10 s.
    mutating func backOff(after error: SQLiteError) {
        backoffMilliseconds = min(max(backoffMilliseconds * 2, 50), 2000)
        if Date().timeIntervalSince(lastBusyLog) >= 10 {
            lastBusyLog = Date()
            logger.warning("\(error); retrying in \(backoffMilliseconds) ms")
            record(error)
        }
        usleep(UInt32(backoffMilliseconds) * 1000)
    }

    /// Stores `error` as the agent's last error; a failure to store it (the log itself
    /// failing) is logged, never thrown over the error being reported.
    func record(_ error: Error) {
        do {
            try AgentErrorRecord(error).save(to: log)
        } catch {
            logger.debug("\(log.path): could not record the last error: \(error)")
        }
    }

    // MARK: - Heartbeats

    /// Events were appended (`count` of them; 0 changes nothing).
    mutating func noteAppended(_ count: Int) {
        if count > 0 { lastActivity = DispatchTime.now().uptimeNanoseconds }
    }

    /// Whether a heartbeat is due: heartbeats are on, nothing was appended for the interval,
    /// and the last capture went through (a capture that is backing off has not seen the
    /// source's end, and a heartbeat says the agent has).
    var isHeartbeatDue: Bool {
        guard options.heartbeatIntervalMilliseconds > 0, !isBackingOff else { return false }
        let idle = DispatchTime.now().uptimeNanoseconds - lastActivity
        return idle >= UInt64(options.heartbeatIntervalMilliseconds) * 1_000_000
    }

    /// Emits a heartbeat through `emit` when one is due; `emit` returns `nil` when the capture
    /// is not idle after all (an epoch pending, rows waiting), and the daemon tries again on
    /// its next pass.
    /// - Throws: what `emit` throws.
    mutating func heartbeatIfDue(_ emit: () throws -> LSN?) throws {
        guard isHeartbeatDue, let lsn = try emit() else { return }
        lastActivity = DispatchTime.now().uptimeNanoseconds
        logger.debug("\(log.path): heartbeat at LSN \(lsn)")
    }

    // MARK: - Metrics file

    /// Rewrites the metrics file when its interval has passed (or `force`). Failures are
    /// logged at most once a minute and never stop capture: monitoring must not take the
    /// agent down.
    mutating func writeMetricsIfDue(force: Bool = false, _ status: () throws -> AgentStatus) {
        guard let path = options.metricsFilePath else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if !force, let last = lastMetrics, now - last < UInt64(max(1, options.metricsIntervalMilliseconds)) * 1_000_000 { return }
        lastMetrics = now
        do {
            try MetricsFile.write(try status().prometheusText(), to: path)
        } catch {
            if Date().timeIntervalSince(lastMetricsWarning) >= 60 {
                lastMetricsWarning = Date()
                logger.warning("\(path): could not write the metrics file: \(error)")
            }
        }
    }
}
