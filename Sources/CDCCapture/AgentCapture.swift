import CDCTransport

/// What the agent drives, whichever capture mode produces the events.
public protocol AgentCapture: AnyObject {
    /// Captures every transaction committed so far, or until `stop` says so; returns the
    /// events appended.
    @discardableResult
    func captureAvailable(until stop: () -> Bool) throws -> Int
    /// Captures until `stop` returns true, waking on commits.
    func run(until stop: () -> Bool, pollIntervalMilliseconds: Int, retention: RetentionPolicy?) throws
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
}

extension ChangeTableCapture: AgentCapture {}
extension WALCapture: AgentCapture {}
