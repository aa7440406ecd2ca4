import CDCCore

/// A b-tree whose rows a ``TransactionDiff`` compares: a rowid table or a WITHOUT ROWID table.
///
/// The root may differ before and after the transaction: auto-vacuum moves the last root
/// into a dropped table's root page, and VACUUM renumbers roots.
public struct DiffedTree: Hashable, Sendable {
    /// How the tree is keyed.
    public enum Kind: Hashable, Sendable {
        /// A table b-tree keyed by rowid (§2.3).
        case table
        /// A WITHOUT ROWID table: an index b-tree whose records start with the
        /// `primaryKeyFieldCount` primary-key columns (§2.4).
        case withoutRowID(primaryKeyFieldCount: Int)
    }

    /// The root page before the transaction; `nil` when the table did not exist (every row
    /// after is an insert).
    public var rootBefore: UInt32?
    /// The root page after the transaction; `nil` when the table was dropped (every row
    /// before is a delete; the caller may prefer to report the drop instead).
    public var rootAfter: UInt32?
    /// How the tree is keyed.
    public var kind: Kind

    /// A tree that keeps its root page.
    public init(rootPage: UInt32, kind: Kind) {
        self.init(rootBefore: rootPage, rootAfter: rootPage, kind: kind)
    }

    /// A tree whose root page may have moved, been created or dropped.
    /// For a WITHOUT ROWID table, the order of its key fields when it is not BINARY ascending
    /// (DESC, NOCASE, RTRIM): the streaming merge walks the trees in that order. `nil` means
    /// BINARY ascending for every field.
    public var keyOrder: [KeyFieldOrder]?
    /// For a rowid table (``Kind/table``): when set, deltas carry the rows' images in this
    /// layout (``RowImageLayout/image(ofPayload:rowid:pageNumber:)``) instead of the records,
    /// decoded straight from the page. Ignored for WITHOUT ROWID trees, whose keys are read
    /// from the records.
    public var rowImageLayout: RowImageLayout?

    /// Compares two keys in the tree's own order.
    func compare(_ a: RowKey, _ b: RowKey) -> Int {
        if let keyOrder, case .fields(let x) = a, case .fields(let y) = b {
            return KeyFieldOrder.compare(x, y, orders: keyOrder)
        }
        return a < b ? -1 : (b < a ? 1 : 0)
    }

    public init(rootBefore: UInt32?, rootAfter: UInt32?, kind: Kind) {
        self.rootBefore = rootBefore
        self.rootAfter = rootAfter
        self.kind = kind
    }

    var isTable: Bool { kind == .table }

    /// The key of an entry of this tree.
    ///
    /// - Throws: ``PageDecodingError`` `.keyFieldsMissing` for a WITHOUT ROWID record shorter
    ///   than its key.
    func key(of entry: BTreeEntry, pageNumber: UInt32) throws -> RowKey {
        switch kind {
        case .table:
            return .rowid(entry.rowid)
        case .withoutRowID(let k):
            guard entry.values.count >= k else {
                throw PageDecodingError(.keyFieldsMissing(expected: k, found: entry.values.count), pageNumber: pageNumber)
            }
            return .fields(Array(entry.values.prefix(max(0, k))))
        }
    }
}

/// The row changes one committed WAL transaction made, per table, from the pages it wrote.
///
/// For each tree, the affected pages are the b-tree pages of the tree that the transaction
/// wrote, that joined or left the tree (pages freed to the freelist are not written: only
/// their parent and the trunk are), or that hold the cell of a written overflow page (found
/// by walking up the ownership map: SQLite's overwrite-in-place rewrites an overflow page
/// and not the leaf). The old map (before ``PageOwnership/apply(changedPages:old:new:roots:rebuildThreshold:)``)
/// places the old versions of pages, the new map the new ones. The rows (table trees: on
/// leaves) or entries (index trees: on leaves and interior pages, §1.6) of the old versions
/// are the rows before; those of the new versions the rows after. Every other page of the
/// tree is unchanged and in the tree on both sides, so its rows are too. Then, by key: in
/// both with identical values → moved by a split or merge, not reported; different values →
/// update; only before → delete; only after → insert.
///
/// Memory is bounded by the affected pages' rows. A tree with more affected pages than
/// ``affectedPageBudget`` (VACUUM, bulk loads) is diffed instead by merging a full in-order
/// walk of the old tree with one of the new tree (``BTreeCursor``), one page a level in
/// memory, the deltas emitted as found.
///
/// Deltas come out per tree in the order the trees are given, each tree's in key order:
/// rowids numerically; WITHOUT ROWID keys by ``ValueOrder/totalOrder(_:_:)`` (SQLite's
/// BINARY order). Both paths give the same deltas in the same order. The streaming path
/// relies on the tree's own order being that order, so a WITHOUT ROWID primary key declared
/// DESC or with another collation makes it throw `.keysOutOfOrder` (the in-memory path sorts
/// and is unaffected). Keys compare exactly (see ``RowKey``).
///
/// Source: SQLite, "Database File Format" §1.6, §1.7, §2.3, §2.4 and §4.5
/// (https://www.sqlite.org/fileformat2.html).
public struct TransactionDiff<Old: PageSource, New: PageSource> {
    /// The snapshot at the previous commit.
    public let old: Old
    /// The snapshot at this commit.
    public let new: New
    /// The ownership map after this transaction was applied.
    public let ownership: PageOwnership
    /// What the apply changed: the written pages and the map's entries before.
    public let changes: PageOwnership.Changes
    /// Affected pages (old and new versions together) above which a tree is diffed by the
    /// streaming merge of two full walks. Default 4,096 pages.
    public var affectedPageBudget: Int

    /// What a run did, for tests and metrics.
    public struct Summary: Hashable, Sendable {
        /// Trees diffed from their affected pages.
        public var treesDiffedByPages = 0
        /// Trees diffed by the streaming merge of two full walks.
        public var treesStreamed = 0
        /// Page versions whose rows were read by the affected-pages path.
        public var affectedPagesRead = 0
        /// Deltas emitted.
        public var deltaCount = 0
    }

    /// Prepares a diff.
    ///
    /// - Parameters:
    ///   - old: the snapshot at the previous commit.
    ///   - new: the snapshot at this commit.
    ///   - ownership: the map after ``PageOwnership/apply(changedPages:old:new:roots:rebuildThreshold:)``.
    ///   - changes: what that apply returned (the map before is read through it).
    ///   - affectedPageBudget: see ``affectedPageBudget``.
    public init(old: Old, new: New, ownership: PageOwnership, changes: PageOwnership.Changes, affectedPageBudget: Int = 4096) {
        self.old = old
        self.new = new
        self.ownership = ownership
        self.changes = changes
        self.affectedPageBudget = affectedPageBudget
    }

    /// Diffs every tree in `trees` and passes each delta to `emit`.
    ///
    /// - Throws: ``PageDecodingError`` for an invalid page, cell, chain or record, a page of
    ///   the wrong kind for its tree, a key found twice (`.duplicateKey`), a WITHOUT ROWID
    ///   record shorter than its key (`.keyFieldsMissing`), keys out of order on the
    ///   streaming path (`.keysOutOfOrder`); or `emit`'s error.
    /// - Complexity: O(rows on the affected pages · log) per tree, or O(rows of the old and
    ///   new tree) when streamed.
    @discardableResult
    public func run(trees: [DiffedTree], emit: (DiffedTree, RowDelta) throws -> Void) throws -> Summary {
        var summary = Summary()
        let affected = try affectedPages(of: trees)
        for (i, tree) in trees.enumerated() {
            let before = affected.before[i].sorted(), after = affected.after[i].sorted()
            if before.count + after.count > affectedPageBudget {
                summary.treesStreamed += 1
                try stream(tree) { summary.deltaCount += 1; try emit(tree, $0) }
            } else {
                summary.treesDiffedByPages += 1
                summary.affectedPagesRead += before.count + after.count
                for delta in try deltas(of: tree, beforePages: before, afterPages: after) {
                    summary.deltaCount += 1
                    try emit(tree, delta)
                }
            }
        }
        return summary
    }

    /// Whether the transaction affected each of `trees`: a page of it (old or new version) is
    /// affected. A tree with none has no delta unless it is streamed (``affectedPageBudget``
    /// below zero), so a caller diffing many tables one by one asks this once for all of them.
    ///
    /// - Throws: ``PageDecodingError`` as ``run(trees:emit:)``.
    /// - Complexity: one pass over the changed pages.
    public func affectsTrees(_ trees: [DiffedTree]) throws -> [Bool] {
        let affected = try affectedPages(of: trees)
        return trees.indices.map { !affected.before[$0].isEmpty || !affected.after[$0].isEmpty }
    }

    /// The deltas of one tree, in key order (a convenience over ``run(trees:emit:)``).
    ///
    /// - Throws: as ``run(trees:emit:)``.
    public func deltas(of tree: DiffedTree) throws -> [RowDelta] {
        var out: [RowDelta] = []
        try run(trees: [tree]) { out.append($1) }
        return out
    }
}
