import CDCCore

/// How one source table compares with its read-model table.
///
/// Counts are exact (every row is read); sample keys are the first keys in key order, at most
/// the check's `maximumSampleKeys` per kind. Keys identify rows and may be printed; row values
/// are never kept here (they may be personal data).
public struct TableReport: Sendable, Equatable {
    /// The source table name, exactly as declared.
    public var sourceTable: String
    /// The read-model table name (the projection's `as`, else the source name).
    public var replicaTable: String
    /// The source key's field names in key order: the primary-key columns, or the rowid
    /// alias (`rowid`, `_rowid_` or `oid`) for a table keyed by its rowid. Sample keys are
    /// rendered under these names, on both sides, as in the events' `key` object.
    public var keyNames: [String]
    /// Source rows the projection keeps (rows its filter rejects are not counted).
    public var sourceRowCount: Int64 = 0
    /// Rows in the read-model table (0 when the table is missing).
    public var replicaRowCount: Int64 = 0
    /// Whether the read-model table does not exist; every kept source row then counts as
    /// missing.
    public var isReplicaTableMissing = false
    /// Differences between the projected columns and the read-model table's columns, one
    /// sentence each (names only); any makes the table diverged.
    public var schemaDifferences: [String] = []
    /// Rows in the source (kept by the projection) whose key the read model lacks.
    public var missing = KeyTally()
    /// Rows in the read model whose key the source (after the projection) lacks.
    public var extra = KeyTally()
    /// Rows present on both sides whose projected values differ in value or storage class
    /// (reals compared bit for bit, text and blobs byte for byte).
    public var differing = KeyTally()

    public init(sourceTable: String, replicaTable: String, keyNames: [String]) {
        self.sourceTable = sourceTable
        self.replicaTable = replicaTable
        self.keyNames = keyNames
    }

    /// Whether the read-model table equals the projection of the source table.
    /// A read-model table that is missing is consistent only while the source keeps no row
    /// of it: the sink creates a table with its first event, so an empty captured table has
    /// none yet.
    public var isConsistent: Bool {
        (!isReplicaTableMissing || sourceRowCount == 0) && schemaDifferences.isEmpty
            && missing.count == 0 && extra.count == 0 && differing.count == 0
    }
}

/// A count of rows of one kind (missing, extra or differing) and the first of their keys.
public struct KeyTally: Sendable, Equatable {
    /// How many rows, exactly.
    public var count: Int64 = 0
    /// The first keys in key order (SQLite's BINARY order), each aligned with
    /// ``TableReport/keyNames``; at most the check's sample limit.
    public var sampleKeys: [[SQLiteValue]] = []

    public init() {}

    /// Counts one row and keeps its key while fewer than `limit` are kept.
    mutating func record(_ key: [SQLiteValue], limit: Int) {
        count += 1
        if sampleKeys.count < limit { sampleKeys.append(key) }
    }
}
