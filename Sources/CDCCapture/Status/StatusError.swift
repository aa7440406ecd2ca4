import CDCCore

/// Bad input to `cdc-agent status` (exit 2); each message says what to do. A `--log` that is
/// not an event log, or the log of another database, is an ``EventLogError`` instead.
public enum StatusError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A path that does not exist, or is a folder.
    case noSuchFile(path: String, role: String)
    /// The `--db` file is not an SQLite database.
    case notADatabase(path: String)
    /// The log exists but no agent has captured into it yet, so it names no source.
    case logNotClaimed(path: String)

    public var description: String {
        switch self {
        case .noSuchFile(let path, let role):
            return "\(path): no such file; give the path of the \(role) (the one given to cdc-agent run)"
        case .notADatabase(let path):
            return "\(path): not an SQLite database; give the service's database with --db"
        case .logNotClaimed(let path):
            return "\(path): no agent has captured into this event log yet; start `cdc-agent run` with it first"
        }
    }
}
