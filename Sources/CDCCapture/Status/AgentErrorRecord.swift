import CDCCore
import CDCSQLite
import CDCTransport

/// The agent's last error, kept in the log's agent state (`last_error`, `last_error_ms`) so
/// that `cdc-agent status` and the metrics file can report it after the fact.
///
/// The daemon records a busy back-off (at most every 10 s, as it logs it) and the error that
/// ends a run (daemon or `--once`). A record stays until a newer error replaces it: a
/// recovered agent keeps showing its last error, with the time, so an operator can tell an
/// old, healed error from a new one (the metric is its timestamp).
public struct AgentErrorRecord: Hashable, Sendable {
    /// The error's one-line description (no row values: errors never carry them).
    public var message: String
    /// When it happened, UTC milliseconds since 1970.
    public var timestampMilliseconds: Int64

    public init(message: String, timestampMilliseconds: Int64) {
        self.message = message
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// The agent-state keys.
    static let messageKey = "last_error", timestampKey = "last_error_ms"

    /// The record of `error`, as one line, at `now`.
    public init(_ error: Error, now: Int64 = EventLog.nowMilliseconds()) {
        self.init(message: String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " "), timestampMilliseconds: now)
    }

    /// The record stored in a log's agent state, if any.
    /// - Throws: ``SQLiteError``.
    public static func read(from log: EventLog) throws -> AgentErrorRecord? {
        try read(fromState: log.agentState())
    }

    static func read(fromState state: [String: SQLiteValue]) -> AgentErrorRecord? {
        guard let message = state[messageKey]?.stringValue, case .integer(let ms)? = state[timestampKey] else { return nil }
        return AgentErrorRecord(message: message, timestampMilliseconds: ms)
    }

    /// Stores the record in the log's agent state (one small write transaction), replacing
    /// the previous one.
    /// - Throws: ``SQLiteError`` (for example busy, when the error was the log's own lock).
    public func save(to log: EventLog) throws {
        try log.saveState([Self.messageKey: .string(message), Self.timestampKey: .integer(timestampMilliseconds)])
    }
}
