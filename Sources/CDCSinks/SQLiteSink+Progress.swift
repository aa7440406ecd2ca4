import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// How far a sink has applied, and how old the newest event it applied is.
public struct SinkProgress: Hashable, Sendable {
    /// The offset: the highest LSN applied (0 before the first batch).
    public var appliedLSN: LSN
    /// `ts_ms` of the event at ``appliedLSN`` (UTC milliseconds since 1970); `nil` before the
    /// first batch, or for a replica whose last batch was applied by an older build.
    public var appliedEventTimestampMilliseconds: Int64?
    /// When the offset was last stored, UTC milliseconds (`nil` before the first batch).
    public var updatedMilliseconds: Int64?

    public init(appliedLSN: LSN, appliedEventTimestampMilliseconds: Int64?, updatedMilliseconds: Int64?) {
        self.appliedLSN = appliedLSN
        self.appliedEventTimestampMilliseconds = appliedEventTimestampMilliseconds
        self.updatedMilliseconds = updatedMilliseconds
    }

    /// The sink's lag as the sink alone can tell it: seconds from the newest applied event's
    /// `ts_ms` to `now`. While the source is idle the agent's heartbeats keep this within
    /// about a heartbeat interval of the truth; without them it grows on an idle source.
    /// - Returns: `nil` when no event time is known.
    public func lagSeconds(now: Int64 = EventLog.nowMilliseconds()) -> Double? {
        appliedEventTimestampMilliseconds.map { Double(max(0, now - $0)) / 1000 }
    }
}

extension SQLiteSink {
    /// The offset, the time of the event at it, and when it was stored.
    /// - Throws: ``SQLiteError``, ``SinkError/corruptMetadata``.
    public var progress: SinkProgress {
        get throws {
            guard let p = try metadata.progress() else { return SinkProgress(appliedLSN: .zero, appliedEventTimestampMilliseconds: nil, updatedMilliseconds: nil) }
            return SinkProgress(appliedLSN: p.lsn, appliedEventTimestampMilliseconds: p.eventTimestampMilliseconds, updatedMilliseconds: p.updatedMilliseconds)
        }
    }

    /// The name the sink acknowledges under in the log (``EventLog/acknowledge(sink:offset:eventTimestampMilliseconds:now:)``):
    /// the replica's absolute path, which is unique on the host and tells an operator where
    /// the read model is.
    public var acknowledgementName: String {
        URL(fileURLWithPath: replicaPath).standardizedFileURL.path
    }
}

/// Reports a sink's committed offset to the log (DESIGN.md, transport "acknowledge"), at most
/// once per interval, and never in the way of applying:
///
/// - The replica's own offset stays the truth; an acknowledgement may trail it by up to the
///   interval (plus one batch), and is brought up to date when the sink stops or goes idle.
/// - Each acknowledgement is a write to the log (with its fsync), hence the interval.
/// - A log opened read-only, or a file the sink may not write, turns acknowledging off for
///   the run (said once, at info level); any other failure is logged at most once a minute
///   and retried at the next interval.
final class SinkAcknowledger {
    let name: String
    let intervalNanoseconds: UInt64
    let logger: Logger
    private var pending: (lsn: LSN, timestamp: Int64?)?
    private var lastSent: UInt64?
    private var lastWarning = Date.distantPast
    private(set) var isDisabled = false

    init(name: String, intervalMilliseconds: Int = 1000, logger: Logger) {
        self.name = name
        self.intervalNanoseconds = UInt64(max(0, intervalMilliseconds)) * 1_000_000
        self.logger = logger
    }

    /// A batch was committed up to `last`.
    func committed(_ last: Event) {
        pending = (last.lsn, last.timestampMilliseconds)
    }

    /// Sends the pending offset when the interval has passed since the last send.
    func sendIfDue(to log: EventLog) {
        if let lastSent, DispatchTime.now().uptimeNanoseconds - lastSent < intervalNanoseconds { return }
        send(to: log)
    }

    /// Sends the pending offset now (the sink stops, or has caught up).
    func send(to log: EventLog) {
        guard !isDisabled, let p = pending else { return }
        do {
            try log.acknowledge(sink: name, offset: p.lsn, eventTimestampMilliseconds: p.timestamp)
            pending = nil
            lastSent = DispatchTime.now().uptimeNanoseconds
        } catch let error as SQLiteError where error.code.primary == .readOnly || error.code.primary == .permission || error.code.primary == .cantOpen {
            isDisabled = true
            logger.info("not acknowledging to \(log.path) (\(error.message)): cdc-agent status will not list this sink")
        } catch {
            lastSent = DispatchTime.now().uptimeNanoseconds
            if Date().timeIntervalSince(lastWarning) >= 60 {
                lastWarning = Date()
                logger.warning("could not acknowledge to \(log.path): \(error); applying goes on")
            }
        }
    }
}
