import CDCCore

/// Errors of applying events to a read model; each message names the table, the LSN and
/// what to do. Row values never appear in messages (they may be personal data).
public enum SinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The event's schema differs from the read-model table in a way the sink cannot follow in
    /// place (a changed key, declared type or WITHOUT ROWID, a NOT NULL column without a
    /// default, an ambiguous step; docs/sinks.md, "Schema changes"). Nothing of the change
    /// was applied.
    case unsupportedSchemaChange(table: String, change: String, lsn: LSN)
    /// A source schema change that the projection no longer fits: it names a table or a column
    /// that was renamed or dropped. `fix` says what to change in the projection. Nothing of the
    /// change was applied; the sink's offset stays before it, so a run with the changed
    /// projection continues there.
    case projectionOutdated(table: String, change: String, lsn: LSN, fix: String)
    /// Applying the event failed in SQLite (a constraint, a full disk …); the whole batch
    /// was rolled back, offset included.
    case applyFailed(table: String, lsn: LSN, reason: String)
    /// The replica already holds events of another source.
    case sourceMismatch(replica: String, expected: String, found: String)
    /// The sink's own tables hold something this build cannot read.
    case corruptMetadata(String)
    /// A read-model table cannot be addressed by key.
    case noAddressableKey(table: String)
    /// A projection maps a table onto a name the sink reserves for its metadata.
    case reservedTableName(String)
    /// A requested snapshot epoch was served, but retention removed its start before the
    /// sink could read it.
    case snapshotEpochPruned(epoch: LSN)
    /// The event log is not the one the replica was built from, and the replica is ahead of
    /// where the new log's LSNs start.
    case logReplaced(replica: String, log: String, applied: LSN, newLogStartsAfter: LSN)
    /// A start from a snapshot epoch was asked of a replica that already applied events.
    case replicaNotEmpty(replica: String)
    /// The replica path names an existing database that is not a replica.
    case notAReplica(replica: String, reason: String)

    /// The LSN of the event a schema error stopped at, or `nil` for other errors.
    var schemaChangeLSN: LSN? {
        switch self {
        case .unsupportedSchemaChange(_, _, let lsn), .projectionOutdated(_, _, let lsn, _): return lsn
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .unsupportedSchemaChange(let t, let change, let lsn):
            return "table \(t) at LSN \(lsn): \(change); the sink cannot follow this change in place, so rebuild the read model from a fresh snapshot: delete the replica file and run cdc-sink --from-snapshot while the agent runs"
        case .projectionOutdated(let t, let change, let lsn, let fix):
            return "table \(t) at LSN \(lsn): \(change), which the projection still names; \(fix), then run cdc-sink again (it continues at LSN \(lsn))"
        case .applyFailed(let t, let lsn, let reason):
            return "applying LSN \(lsn) to table \(t) failed: \(reason); the batch was rolled back and the offset is unchanged"
        case .sourceMismatch(let replica, let expected, let found):
            return "\(replica): this replica holds events of source \(expected), not \(found); use one replica file per source"
        case .corruptMetadata(let m):
            return "the replica's sink metadata is unreadable: \(m); rebuild the read model (delete the replica file and run cdc-sink again)"
        case .noAddressableKey(let t):
            return "table \(t) has no primary key and its columns shadow every rowid alias (rowid, _rowid_, oid); the sink cannot address its rows"
        case .reservedTableName(let t):
            return "a read-model table would be named \(t), which is reserved (sqlite_ belongs to SQLite, _cdc_ to the sink's metadata); rename it in the projection, or, when no projection maps it, the event log is corrupt"
        case .snapshotEpochPruned(let epoch):
            return "the snapshot epoch starting at LSN \(epoch) was removed by retention before the sink read it; raise the log's retention or run the sink more often"
        case .logReplaced(let replica, let log, let applied, let startsAfter):
            return "\(replica) was built from another event log up to LSN \(applied), but \(log) is a new log whose LSNs start after \(startsAfter); the replica cannot tell which of its rows are current: delete it and run cdc-sink --from-snapshot while the agent runs"
        case .notAReplica(let replica, let reason):
            return "\(replica) is not a read-model replica: \(reason); the sink would write into it, so give a new file name (or an existing replica) as --replica"
        case .replicaNotEmpty(let replica):
            return "\(replica) already holds applied events; --from-snapshot starts a new replica only (delete the file first, or run without --from-snapshot)"
        }
    }
}
