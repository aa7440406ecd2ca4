import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// The chores both capture daemons share between captures: retention on its interval, and
/// back-off when the service holds its write lock past the busy timeout (the daemon retries
/// instead of ending; STYLE.md, back-off on retries).
struct DaemonChores {
    let log: EventLog
    let retention: RetentionPolicy?
    let logger: Logger
    private var lastRetention: Int64?
    private var lastBusyLog = Date.distantPast
    /// The current back-off, 0 when the last capture went through.
    private(set) var backoffMilliseconds = 0

    init(log: EventLog, retention: RetentionPolicy?, logger: Logger) {
        self.log = log
        self.retention = retention
        self.logger = logger
    }

    /// Whether the last capture hit a busy error (the daemon then captures again, after the wait).
    var isBackingOff: Bool { backoffMilliseconds > 0 }

    /// The last capture went through.
    mutating func succeeded() { backoffMilliseconds = 0 }

    /// Applies the retention policy when its interval has passed since the last time.
    /// - Throws: ``SQLiteError`` from the log.
    mutating func applyRetentionIfDue() throws {
        guard let retention, lastRetention.map({ EventLog.nowMilliseconds() - $0 >= retention.intervalMilliseconds }) ?? true else { return }
        lastRetention = EventLog.nowMilliseconds()
        let removed = try log.apply(retention)
        if removed > 0 { logger.info("\(log.path): retention removed \(removed) event(s)") }
    }

    /// Waits after a busy error: 50 ms, doubling up to 2 s; says so at most every 10 s.
    mutating func backOff(after error: SQLiteError) {
        backoffMilliseconds = min(max(backoffMilliseconds * 2, 50), 2000)
        if Date().timeIntervalSince(lastBusyLog) >= 10 {
            lastBusyLog = Date()
            logger.warning("\(error); retrying in \(backoffMilliseconds) ms")
        }
        usleep(UInt32(backoffMilliseconds) * 1000)
    }
}
