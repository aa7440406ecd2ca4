import CDCCore

/// A request for snapshot events, recorded in the event log (`cdc_snapshot_requests`) by a
/// sink (`cdc-sink --resnapshot-on-gap`, `--from-snapshot`) or an operator
/// (`cdc-agent resnapshot`), and served by the running agent in either capture mode.
public struct SnapshotRequest: Hashable, Sendable {
    /// The request id (the row's id in the log), increasing in request order.
    public var id: Int64
    /// Who asked: free text for people (`cdc-sink <replica>`, `cdc-agent resnapshot`).
    public var requester: String
    /// Source table names, exactly as declared; empty means every captured table.
    public var tables: [String]
    /// `nil` for whole tables (a snapshot epoch, reason `requested`); otherwise the keys of
    /// the one table in ``tables`` to send as `snapshot` rows, each key's values in the
    /// table's key order (``TableSchema/keyNames``), with their exact storage classes.
    public var keys: [[SQLiteValue]]?

    /// A request as stored; see the properties for each part.
    public init(id: Int64, requester: String, tables: [String], keys: [[SQLiteValue]]? = nil) {
        self.id = id
        self.requester = requester
        self.tables = tables
        self.keys = keys
    }

    /// Whether the request names keys rather than whole tables.
    public var isKeyed: Bool { keys != nil }
}
