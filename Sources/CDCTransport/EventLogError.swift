import CDCCore
import CDCSQLite

/// Errors of the embedded event log; each says what to do.
public enum EventLogError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file exists but is not an event log of this project (or of a newer format).
    case notAnEventLog(path: String, reason: String)
    /// A reader asked for events after `requested`, but retention already removed events up
    /// to `prunedThrough`, so continuing would silently skip changes.
    case offsetPruned(path: String, requested: LSN, prunedThrough: LSN)
    /// A batch's LSNs do not continue the log strictly increasing.
    case nonIncreasingLSN(path: String, last: LSN, offending: LSN)
    /// A stored event could not be decoded.
    case corruptEvent(path: String, lsn: LSN, reason: String)
    /// The log belongs to another source.
    case sourceMismatch(path: String, expected: String, found: String)
    /// The log could not be written because its disk is full (or a quota or the file-size
    /// limit was reached). The write was rolled back: no event of it is stored and the
    /// agent's position was not moved.
    case diskFull(path: String, reason: String)
    /// The log could not be written because it (or its `-wal`, `-shm` or folder) is
    /// read-only. Nothing was stored.
    case readOnly(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAnEventLog(let path, let reason):
            return "\(path): not a cdc event log (\(reason)); give the path of a log written by cdc-agent, or a new file name"
        case .offsetPruned(let path, let requested, let prunedThrough):
            return "\(path): events after LSN \(requested) were removed by retention (pruned through LSN \(prunedThrough)); request a new snapshot epoch (cdc-sink --resnapshot-on-gap) instead of skipping changes"
        case .nonIncreasingLSN(let path, let last, let offending):
            return "\(path): refusing to append LSN \(offending) after LSN \(last); LSNs must continue one by one (is another agent writing this log?)"
        case .corruptEvent(let path, let lsn, let reason):
            return "\(path): the event at LSN \(lsn) is corrupt: \(reason)"
        case .sourceMismatch(let path, let expected, let found):
            return "\(path): this log holds events of source \(found), not \(expected); use one log per source database"
        case .diskFull(let path, let reason):
            return "\(path): the event log's disk is full (\(reason)); nothing of the failed batch was stored and the capture position did not move, so free space on the log's file system (or raise its quota or file-size limit) and start cdc-agent again: it resumes where it stopped"
        case .readOnly(let path, let reason):
            return "\(path): the event log is read-only (\(reason)); nothing was stored and the capture position did not move, so make the log, its -wal and -shm files and its folder writable by the agent's user and start cdc-agent again: it resumes where it stopped"
        }
    }

    /// Whether this is a storage failure (``diskFull`` or ``readOnly``): the operator fixes
    /// the machine, and a restart resumes.
    public var isStorageFailure: Bool {
        switch self {
        case .diskFull, .readOnly: return true
        default: return false
        }
    }

    /// The log's error for `error` when it is a storage failure of the log at `path`;
    /// otherwise `error` itself.
    static func mappingStorageFailure(_ error: Error, path: String) -> Error {
        guard let sqlite = error as? SQLiteError, let failure = sqlite.storageFailure else { return error }
        switch failure {
        case .full(let reason): return EventLogError.diskFull(path: path, reason: reason)
        case .readOnly(let reason): return EventLogError.readOnly(path: path, reason: reason)
        }
    }
}
