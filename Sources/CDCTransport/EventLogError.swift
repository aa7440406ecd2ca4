import CDCCore

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
        }
    }
}
