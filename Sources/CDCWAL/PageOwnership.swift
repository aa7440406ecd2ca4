/// For every page in use by a b-tree, the page that points at it: 4 bytes a page plus one bit.
///
/// A b-tree page's parent is the interior page whose cell or right-most pointer names it; a
/// root is its own parent. An overflow page's parent is the page whose pointer leads to it:
/// the b-tree page holding the cell for the first page of a chain, the previous overflow page
/// for the later ones. One bit a page tells overflow pages from b-tree pages. Parent 0 means
/// the page is not owned: a freelist trunk or leaf page, a pointer-map page, the lock-byte
/// page, or a page no tree reaches. These are the relations the pointer map of an
/// auto-vacuum database records (§1.8); this map keeps them for every database, so capture
/// can tell which tree a page written by a WAL transaction belongs to.
///
/// Build it once with ``build(source:roots:)`` (a full walk), then keep it current with
/// ``apply(changedPages:old:new:roots:rebuildThreshold:)`` for each committed transaction.
/// Memory: 4 bytes and one bit a page of the database, plus the links of recently parsed
/// page versions with their pages, 1 MiB of pages at most (``LinksMemo``; the pages are mostly
/// shared with the WAL frame cache). Equality compares the entries and roots only.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages, §1.7 Cell Payload Overflow
/// Pages, §1.8 Pointer Map or Ptrmap Pages (https://www.sqlite.org/fileformat2.html).
public struct PageOwnership: Equatable, Sendable {
    /// What the map says of one page.
    public struct Entry: Hashable, Sendable {
        /// The page pointing at this one; the page itself for a root; 0 when not owned.
        public var parent: UInt32
        /// Whether the page is an overflow page (else a b-tree page, or not owned).
        public var isOverflowPage: Bool

        /// A page no b-tree owns.
        public static let unowned = Entry(parent: 0, isOverflowPage: false)

        /// Makes an entry.
        public init(parent: UInt32, isOverflowPage: Bool) {
            self.parent = parent
            self.isOverflowPage = isOverflowPage
        }

        /// Whether some b-tree owns the page.
        public var isOwned: Bool { parent != 0 }
    }

    /// The parent of page n at index n; index 0 is unused.
    private(set) var parents: [UInt32]
    /// Bit n set when page n is an overflow page.
    private(set) var overflowBits: [UInt64]
    /// The root pages the map was built or last updated with, ascending, page 1 included.
    public private(set) var rootPages: [UInt32]
    /// Links of page versions parsed by earlier updates (a cache: not part of equality).
    var linksMemo = LinksMemo()
    /// The last page 1 whose header gave a usable size (a cache: not part of equality).
    var headerMemo: HeaderMemo?

    /// A page 1, the page size it was read with, and the usable size its header gives.
    struct HeaderMemo: Sendable {
        var page1: [UInt8]
        var pageSize: Int
        var usableSize: Int
    }

    /// The deepest b-tree walked: ``BTreeWalker``'s bound.
    static let maximumDepth = BTreeWalker<DatabaseFilePageSource<[UInt8]>>.maximumDepth

    /// Whether both maps have the same entries and roots (their caches may differ).
    public static func == (a: PageOwnership, b: PageOwnership) -> Bool {
        a.parents == b.parents && a.overflowBits == b.overflowBits && a.rootPages == b.rootPages
    }

    /// Makes a map of `databaseSizeInPages` pages, none owned.
    init(databaseSizeInPages: UInt32) {
        parents = [UInt32](repeating: 0, count: Int(databaseSizeInPages) + 1)
        overflowBits = [UInt64](repeating: 0, count: (Int(databaseSizeInPages) + 64) / 64)
        rootPages = []
    }

    /// The database size in pages the map covers.
    public var databaseSizeInPages: UInt32 { UInt32(parents.count - 1) }

    /// The number of pages some b-tree owns.
    ///
    /// - Complexity: O(database size in pages).
    public var ownedPageCount: Int { parents.dropFirst().reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

    /// What the map says of `page`; ``Entry/unowned`` for 0 or a page beyond the map.
    public func entry(of page: UInt32) -> Entry {
        let i = Int(page)
        guard i > 0, i < parents.count else { return .unowned }
        return Entry(parent: parents[i], isOverflowPage: overflowBits[i >> 6] & (1 << UInt64(i & 63)) != 0)
    }

    /// The b-tree root `page` belongs to, following parents up (through its overflow chain
    /// and b-tree pages).
    ///
    /// - Returns: the root page, or `nil` when the page is not owned, or the parents form a
    ///   cycle or a chain longer than the database (a map built from corrupt pages): the walk
    ///   is bounded by the database size, so it never loops.
    /// - Complexity: O(depth + overflow chain length before `page`).
    public func root(of page: UInt32) -> UInt32? {
        var p = page
        for _ in 0..<parents.count {
            let parent = entry(of: p).parent
            if parent == 0 { return nil }
            if parent == p { return p }
            p = parent
        }
        return nil
    }

    /// The b-tree page whose cell starts the overflow chain `page` is on, or `page` itself
    /// when it is a b-tree page.
    ///
    /// - Returns: `nil` when the page is not owned or the chain's parents do not end at a
    ///   b-tree page within the database size.
    /// - Complexity: O(overflow pages before `page` on its chain).
    public func bTreePage(holding page: UInt32) -> UInt32? {
        var p = page
        for _ in 0..<parents.count {
            let e = entry(of: p)
            if !e.isOwned { return nil }
            if !e.isOverflowPage { return p }
            p = e.parent
        }
        return nil
    }

    /// The pages whose entries differ between this map and `other` (pages beyond one map's
    /// size count as not owned there), ascending. For tests and diagnostics.
    ///
    /// - Complexity: O(database size in pages).
    public func mismatchedPages(comparedWith other: PageOwnership) -> [UInt32] {
        let count = max(parents.count, other.parents.count)
        return (1..<max(count, 1)).map(UInt32.init).filter { entry(of: $0) != other.entry(of: $0) }
    }

    /// Whether this map equals a full build of `source` with `roots` (debug and test check
    /// of ``apply(changedPages:old:new:roots:rebuildThreshold:)``).
    ///
    /// - Throws: what ``build(source:roots:)`` throws.
    /// - Complexity: a full walk of every tree.
    public func matches(fullBuildOf source: some PageSource, roots: some Sequence<UInt32>) throws -> Bool {
        let full = try Self.build(source: source, roots: roots)
        return mismatchedPages(comparedWith: full).isEmpty && Set(rootPages) == Set(full.rootPages)
    }

    // MARK: - Storage

    /// Sets page `page`'s entry (the page must lie inside the map).
    mutating func setEntry(_ page: UInt32, _ e: Entry) {
        let i = Int(page)
        parents[i] = e.parent
        let bit: UInt64 = 1 << UInt64(i & 63)
        if e.isOverflowPage { overflowBits[i >> 6] |= bit } else { overflowBits[i >> 6] &= ~bit }
    }

    /// Grows or shrinks the map to `size` pages; pages cut off become not owned.
    mutating func resize(to size: UInt32) {
        let count = Int(size) + 1
        if count < parents.count {
            for i in count..<parents.count { setEntry(UInt32(i), .unowned) }
            parents.removeSubrange(count...)
            overflowBits.removeSubrange(((count + 63) / 64)...)
        } else if count > parents.count {
            parents += [UInt32](repeating: 0, count: count - parents.count)
            overflowBits += [UInt64](repeating: 0, count: (count + 63) / 64 - overflowBits.count)
        }
    }

    mutating func setRootPages(_ roots: [UInt32]) { rootPages = roots }
}
