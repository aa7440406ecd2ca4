import CDCCore
import CDCTransport

/// What the agent drives, whichever capture mode produces the events.
public protocol AgentCapture: AnyObject {
    /// The event log the capture appends to.
    var log: EventLog { get }
    /// Captures every transaction committed so far, or until `stop` says so; returns the
    /// events appended.
    @discardableResult
    func captureAvailable(until stop: () -> Bool) throws -> Int
    /// Captures until `stop` returns true, waking on commits; between captures it applies
    /// retention, emits heartbeats and rewrites the metrics file as `options` say.
    func run(until stop: () -> Bool, options: DaemonOptions) throws
    /// The source's, the log's and the known sinks' figures, as this capture sees them.
    func status() throws -> AgentStatus
    /// Releases the source (the log stays open).
    func close() throws
}

extension AgentCapture {
    /// Captures every transaction committed so far.
    /// - Returns: the number of events appended to the log.
    @discardableResult
    public func captureAvailable() throws -> Int {
        try captureAvailable(until: { false })
    }

    /// Runs the daemon with a poll interval and retention, and the default heartbeat
    /// interval (``DaemonOptions``).
    /// - Throws: as ``run(until:options:)``.
    public func run(until stop: () -> Bool, pollIntervalMilliseconds: Int = 10, retention: RetentionPolicy? = nil) throws {
        try run(until: stop, options: DaemonOptions(pollIntervalMilliseconds: pollIntervalMilliseconds, retention: retention))
    }

    /// Captures what is committed, then applies `retention` (`cdc-agent run --once`: no
    /// heartbeat, since a one-shot run does not know how long the source stays idle). An
    /// error is recorded as the agent's last error (``AgentErrorRecord``) before it is thrown.
    /// - Returns: the events appended and the events retention removed.
    /// - Throws: what ``captureAvailable()`` and ``EventLog/apply(_:now:)`` throw.
    public func captureOnce(retention: RetentionPolicy?) throws -> (appended: Int, pruned: Int) {
        do {
            let appended = try captureAvailable()
            let pruned = try retention.map { try log.apply($0) } ?? 0
            return (appended, pruned)
        } catch {
            try? AgentErrorRecord(error).save(to: log)
            throw error
        }
    }
}

extension ChangeTableCapture: AgentCapture {}
extension WALCapture: AgentCapture {}
