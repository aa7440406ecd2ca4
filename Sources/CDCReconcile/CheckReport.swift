import CDCCore

/// The result of comparing a source with its replica: per-table differences and the lag.
///
/// Built by ``ReplicaChecker/run()``; rendered by ``render(json:)``.
public struct CheckReport: Sendable, Equatable {
    /// The source database path, as given.
    public var sourcePath: String
    /// The replica database path, as given.
    public var replicaPath: String
    /// One report per compared table, in source-table name order.
    public var tables: [TableReport]
    /// The agent's position: the event log's last LSN (newest event, or the highest pruned),
    /// or `nil` when no event log was given.
    public var sourceLSN: LSN?
    /// The LSN the replica has applied for this source (`_cdc_sink_offset.lsn`): ``LSN/zero``
    /// when the table holds no row yet, `nil` when it holds rows of other sources only and
    /// none can be matched to this one.
    public var appliedLSN: LSN?
    /// Change rows still waiting in the source's change table (`_cdc_changes`), not yet
    /// captured into events; `nil` when the source has no change table (WAL capture).
    public var pendingChangeCount: Int64?
    /// The most sample keys kept per table and kind.
    public var maximumSampleKeys: Int

    public init(sourcePath: String, replicaPath: String, tables: [TableReport], sourceLSN: LSN?, appliedLSN: LSN?, pendingChangeCount: Int64?, maximumSampleKeys: Int) {
        self.sourcePath = sourcePath
        self.replicaPath = replicaPath
        self.tables = tables
        self.sourceLSN = sourceLSN
        self.appliedLSN = appliedLSN
        self.pendingChangeCount = pendingChangeCount
        self.maximumSampleKeys = maximumSampleKeys
    }

    /// Whether every compared table equals its read model (lag does not count: a replica
    /// that is behind but whose tables happen to match is consistent at this moment).
    public var isConsistent: Bool { tables.allSatisfy(\.isConsistent) }

    /// How many events the replica is behind the agent, in LSNs (source LSN − applied LSN);
    /// `nil` when either is unknown. LSNs are dense per source only in the sense of
    /// ordering, so this counts positions, not necessarily events.
    public var lagLSN: Int64? {
        guard let s = sourceLSN, let a = appliedLSN else { return nil }
        return s.rawValue &- a.rawValue
    }

    /// Tables that are not consistent.
    public var divergedTables: [TableReport] { tables.filter { !$0.isConsistent } }

    /// Missing rows over all tables.
    public var missingCount: Int64 { tables.reduce(0) { $0 + $1.missing.count } }
    /// Extra rows over all tables.
    public var extraCount: Int64 { tables.reduce(0) { $0 + $1.extra.count } }
    /// Differing rows over all tables.
    public var differingCount: Int64 { tables.reduce(0) { $0 + $1.differing.count } }
}
