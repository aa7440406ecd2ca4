import CDCCore

/// Errors of the change-table capture; each message says what to do.
public enum CaptureError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The triggers are not installed in the source.
    case notInstalled(path: String)
    /// The source is not in WAL mode, so the agent's reads would block the service's writers.
    case notInWALMode(path: String, journalMode: String)
    /// `_cdc_meta` is missing a key or holds a value of the wrong type.
    case malformedMeta(path: String, key: String)
    /// `_cdc_meta` was written by a newer (or unknown) format.
    case unsupportedFormat(path: String, found: Int64, supported: Int64)
    /// A table name that belongs to SQLite or to this project was asked for.
    case reservedTable(String)
    /// A row of `_cdc_changes` does not have the shape the triggers write.
    case malformedChangeRow(path: String, seq: Int64, reason: String)
    /// The schema kept changing while the agent tried to read a consistent batch.
    case schemaUnstable(path: String, attempts: Int)
    /// Another agent holds the source's agent lock: two agents would split the changes.
    case anotherAgentRunning(path: String, lockPath: String, pid: Int32?)
    /// The log lacks events its own agent state says it holds (deleted by hand, or a damaged
    /// file): appending would reuse LSNs.
    case logBehindState(path: String, lastLSN: LSN, stateLSN: LSN)
    /// The database given as the source is an event log or a replica.
    case notASource(path: String, reason: String)
    /// The agent lock file cannot be created or locked.
    case lockUnavailable(lockPath: String, reason: String)

    public var description: String {
        switch self {
        case .notInstalled(let path):
            return "\(path): change-table capture is not installed; run `cdc-agent install --db \(path)` first"
        case .notInWALMode(let path, let mode):
            return "\(path): the database is in journal mode \(mode.isEmpty ? "unknown" : mode), not WAL; run PRAGMA journal_mode=WAL on it (e.g. sqlite3 \(path) 'PRAGMA journal_mode=WAL') so capture never blocks the service's writers"
        case .malformedMeta(let path, let key):
            return "\(path): _cdc_meta is damaged (key \(key) missing or of the wrong type); run `cdc-agent uninstall` then `cdc-agent install`"
        case .unsupportedFormat(let path, let found, let supported):
            return "\(path): _cdc_meta has format \(found), this build reads format \(supported); use a matching cdc-agent or reinstall"
        case .reservedTable(let name):
            return "table \(name) belongs to SQLite or to cdc-agent and cannot be captured; remove it from --tables"
        case .malformedChangeRow(let path, let seq, let reason):
            return "\(path): change row seq \(seq) is malformed (\(reason)); run `cdc-agent uninstall` and `cdc-agent install` (the next run resyncs)"
        case .schemaUnstable(let path, let attempts):
            return "\(path): the schema changed on each of \(attempts) attempts to read a batch; retry when migrations are done"
        case .anotherAgentRunning(let path, let lockPath, let pid):
            return "\(path): another cdc-agent\(pid.map { " (pid \($0))" } ?? "") is already capturing this database (it holds \(lockPath)); run one agent per source database, or stop the other first"
        case .logBehindState(let path, let last, let covered):
            return "\(path): the log ends at LSN \(last) but its agent state covers LSN \(covered): events were removed by hand or the file is damaged; appending would reuse LSNs, so restore the log or start a new one (a new log continues the source's LSNs)"
        case .notASource(let path, let reason):
            return "\(path): not a service database: \(reason); give the service's own database with --db"
        case .lockUnavailable(let lockPath, let reason):
            return "cannot lock \(lockPath): \(reason); the agent needs to create this file beside the database (check the folder's permissions)"
        }
    }
}
