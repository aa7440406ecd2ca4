import CDCTransport

/// What the agent drives, whichever capture mode produces the events.
public protocol AgentCapture: AnyObject {
    /// Captures every transaction committed so far; returns the events appended.
    @discardableResult
    func captureAvailable() throws -> Int
    /// Captures until `stop` returns true, waking on commits.
    func run(until stop: () -> Bool, pollIntervalMilliseconds: Int, retention: RetentionPolicy?) throws
    /// Releases the source (the log stays open).
    func close() throws
}

extension ChangeTableCapture: AgentCapture {}
extension WALCapture: AgentCapture {}
