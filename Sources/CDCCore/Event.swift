/// Spec version of the event envelope written by this build (docs/events.md).
public let eventSpecVersion = 1

/// How the agent captures a source.
public enum CaptureMode: String, Sendable, CaseIterable {
    /// Change tables filled by triggers (`cdc-agent install`).
    case triggers
    /// Decoding of the write-ahead log (issue 3).
    case wal
}

/// Where an event came from.
public struct SourceInfo: Hashable, Sendable {
    /// The service name (defaults to the database file name without extension).
    public var service: String
    /// The source database path as the agent was given it.
    public var database: String
    /// The capture mode that produced the event.
    public var mode: CaptureMode

    public init(service: String, database: String, mode: CaptureMode) {
        self.service = service
        self.database = database
        self.mode = mode
    }
}

/// The kind of row change, as in Debezium's `op` field, spelled out.
public enum Operation: String, Sendable, CaseIterable {
    case insert, update, delete
    /// A row read by a snapshot; carries an after image only.
    case snapshot
}

/// Which transaction an event belongs to and where in it.
public struct TransactionInfo: Hashable, Sendable {
    /// The transaction id: the LSN of the transaction's first event.
    public var id: Int64
    /// 0-based index of the event in its transaction.
    public var index: Int
    /// Whether this is the transaction's last event.
    public var isLast: Bool

    public init(id: Int64, index: Int, isLast: Bool) {
        self.id = id
        self.index = index
        self.isLast = isLast
    }
}

/// One row change.
///
/// Images are full rows aligned with `table.columns`; `key` is aligned with
/// `table.keyNames`. Inserts and snapshots carry `after`, deletes carry `before`, updates both.
public struct RowChange: Hashable, Sendable {
    public var transaction: TransactionInfo
    public var table: TableSchema
    public var operation: Operation
    public var key: [SQLiteValue]
    public var before: [SQLiteValue]?
    public var after: [SQLiteValue]?

    public init(transaction: TransactionInfo, table: TableSchema, operation: Operation, key: [SQLiteValue], before: [SQLiteValue]?, after: [SQLiteValue]?) {
        self.transaction = transaction
        self.table = table
        self.operation = operation
        self.key = key
        self.before = before
        self.after = after
    }
}

/// A snapshot epoch marker: the epoch is the LSN of its start marker.
public struct SnapshotEpoch: Hashable, Sendable {
    /// The LSN of the epoch's start marker; every row the epoch carries has a larger LSN.
    public var epoch: LSN
    /// The tables the epoch covers; at its end, sinks drop rows of these tables that are
    /// older than the epoch and that the epoch did not contain.
    public var tables: [String]
    /// Why the epoch was run: `initial`, `resync` or `requested`.
    public var reason: String

    public init(epoch: LSN, tables: [String], reason: String) {
        self.epoch = epoch
        self.tables = tables
        self.reason = reason
    }
}

/// One record of the event stream (one JSON line).
public struct Event: Hashable, Sendable {
    /// What the record says.
    public enum Body: Hashable, Sendable {
        case change(RowChange)
        case snapshotStart(SnapshotEpoch)
        case snapshotEnd(SnapshotEpoch)
        /// Emitted while the source is idle so lag stays measurable.
        case heartbeat
        /// A table was created, altered, renamed or dropped.
        case schema(SchemaChange)
    }

    /// The event's LSN; for a row change this is also its row version.
    public var lsn: LSN
    public var source: SourceInfo
    /// Commit time of the source transaction (change-table mode: the time the trigger ran),
    /// UTC milliseconds since 1970.
    public var timestampMilliseconds: Int64
    public var body: Body

    public init(lsn: LSN, source: SourceInfo, timestampMilliseconds: Int64, body: Body) {
        self.lsn = lsn
        self.source = source
        self.timestampMilliseconds = timestampMilliseconds
        self.body = body
    }

    /// The row change, when this event is one.
    public var change: RowChange? {
        if case .change(let c) = body { return c }
        return nil
    }

    /// The row version of a change: its LSN.
    public var rowVersion: LSN { lsn }

    /// The table a change applies to, or `nil` for markers.
    public var tableName: String? {
        switch body {
        case .change(let c): return c.table.name
        case .schema(let s): return s.table
        default: return nil
        }
    }

    /// The `type` field of the JSON form.
    public var typeName: String {
        switch body {
        case .change: return "change"
        case .snapshotStart: return "snapshot_start"
        case .snapshotEnd: return "snapshot_end"
        case .heartbeat: return "heartbeat"
        case .schema: return "schema"
        }
    }
}
