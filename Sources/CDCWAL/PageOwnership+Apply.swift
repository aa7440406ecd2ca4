/// Keeping the map current, one committed transaction at a time, without a full walk.
extension PageOwnership {
    /// What ``apply(changedPages:old:new:roots:rebuildThreshold:)`` did to the map.
    ///
    /// The entries before the transaction are ``previousEntries`` where given, else the map's
    /// current entries: so the map before the transaction can be read without keeping a copy
    /// of it (see ``entryBefore(_:in:)``).
    public struct Changes: Sendable {
        /// The pages the transaction wrote (its frames' page numbers).
        public var changedPages: Set<UInt32>
        /// Every page whose entry differs after the transaction, with its entry before.
        public var previousEntries: [UInt32: Entry]
        /// Whether the map was rebuilt by a full walk instead of updated.
        public var isFullRebuild: Bool
        /// The root pages before the transaction.
        public var previousRootPages: [UInt32]

        /// The entry `page` had before the transaction, given the map after it.
        public func entryBefore(_ page: UInt32, in after: PageOwnership) -> Entry {
            previousEntries[page] ?? after.entry(of: page)
        }
    }

    /// Changed pages at or above which ``apply(changedPages:old:new:roots:rebuildThreshold:)``
    /// rebuilds by default: half the new database, but never fewer than this.
    public static let minimumRebuildThreshold = 64

    /// Updates the map for one committed transaction, walking only what it touched.
    ///
    /// Only pages the transaction wrote can point elsewhere than before, so:
    /// 1. the ancestors (old map) of every written page are marked: their subtrees hold a
    ///    change;
    /// 2. from every root of the new snapshot, the walk descends only into pages that were
    ///    written, marked, newly owned, or owned as the other kind (b-tree vs overflow page);
    ///    every child and overflow page it meets gets its new parent (below a page that was
    ///    not written, only its written or marked children: the others keep their entries,
    ///    so its cells are not read). An unwritten, unmarked
    ///    child keeps its subtree's entries, which are still true (a page split moves such a
    ///    child between siblings: only the child's own entry changes). Overflow chains are
    ///    followed while their pages were written or marked: the overwrite-in-place case
    ///    (btree.c `btreeOverwriteCell`, which rewrites an overflow page but not the leaf)
    ///    marks the leaf through the chain;
    /// 3. pages that lost their parent and were not re-attached (the old children of written
    ///    pages, dropped roots) are detached with their old subtrees, read from the old
    ///    snapshot: pages freed to the freelist need not be written (only the trunk is), and
    ///    a dropped table's pages are not;
    /// 4. pages past the new end of the database (auto-vacuum truncation, VACUUM) are cut off.
    ///
    /// An auto-vacuum relocation writes the page at its new number and rewrites its parent
    /// (both written, so walked); the moved page's children are not written, only the
    /// pointer map: they are reached as children of the written page and get their new parent.
    ///
    /// When `rebuildThreshold` or more pages changed (VACUUM rewrites every page), a full
    /// walk of the new snapshot replaces the map: per-page work then costs more than reading
    /// each page once. The default threshold is half the new database size in pages, at
    /// least ``minimumRebuildThreshold``.
    ///
    /// - Parameters:
    ///   - changedPages: the pages the transaction's frames hold.
    ///   - old: the snapshot at the previous commit (the one the map describes).
    ///   - new: the snapshot at this commit.
    ///   - roots: every b-tree root of `new` (``rootPages(in:)``); page 1 is always added.
    ///     Roots created or dropped by the transaction are found by comparing with
    ///     ``rootPages``.
    ///   - rebuildThreshold: rebuild when this many pages or more changed; `nil` for the default.
    /// - Returns: the pages whose entries changed, with their entries before.
    /// - Throws: ``PageDecodingError`` for invalid pages in either snapshot (a page reached
    ///   twice by the walk is `.cycle`; a written page that points at an unwalked child of an
    ///   unwritten page, which only a corrupt file does, is not caught here but by the next
    ///   full build). After an error the map is unspecified: rebuild it.
    /// - Complexity: O(changed pages × tree depth + pages detached + cells of the written
    ///   pages) page reads and work, not O(database size) (except when rebuilding).
    @discardableResult
    public mutating func apply(changedPages: some Sequence<UInt32>, old: some PageSource, new: some PageSource,
                               roots: some Sequence<UInt32>, rebuildThreshold: Int? = nil) throws -> Changes {
        // Capture passes a Set and a sorted array with page 1: take them as they are.
        let changed = (changedPages as? Set<UInt32>) ?? Set(changedPages)
        let newRoots = Self.sortedRoots(roots)
        let previousRoots = rootPages
        let threshold = rebuildThreshold ?? max(Self.minimumRebuildThreshold, Int(new.databaseSizeInPages) / 2)
        if changed.count >= threshold {
            let full = try Self.build(source: new, roots: newRoots)
            var previous: [UInt32: Entry] = [:]
            for page in mismatchedPages(comparedWith: full) { previous[page] = entry(of: page) }
            self = full
            return Changes(changedPages: changed, previousEntries: previous, isFullRebuild: true, previousRootPages: previousRoots)
        }
        // The walk reads through two plain values instead of the generic sources: this method
        // is called across modules, unspecialized, and generic working state would cost a
        // metadata lookup and a witness call for every step.
        let oldPages = try SnapshotPages(old, usableSize: usableSize(of: old))
        let newPages = try SnapshotPages(new, usableSize: usableSize(of: new))
        let capacity = max(databaseSizeInPages, new.databaseSizeInPages)
        var update = IncrementalUpdate(changed: changed, capacity: capacity, old: oldPages, new: newPages)
        resize(to: capacity)
        try update.markAncestors(in: self)
        // Before the walk remembers the new versions under the same page numbers, so that the
        // old versions' links still come from the memo.
        let writtenPagesOldLinks = try update.oldLinksOfWrittenPages(in: &self)
        for root in newRoots {
            try newPages.checkRange(root)
            let before = entry(of: root)
            try update.attach(root, to: Entry(parent: root, isOverflowPage: false), in: &self)
            if update.needsWalk(root, before: before, expected: Entry(parent: root, isOverflowPage: false), strict: true) {
                try update.walk(from: root, in: &self)
            }
        }
        try update.detachOrphans(droppedRoots: previousRoots.filter { !Self.sortedContains(newRoots, $0) },
                                 writtenPagesOldLinks: writtenPagesOldLinks, in: &self)
        if new.databaseSizeInPages < databaseSizeInPages {
            for page in (new.databaseSizeInPages + 1)...databaseSizeInPages where entry(of: page).isOwned {
                update.remember(page, in: self)
            }
            resize(to: new.databaseSizeInPages)
        }
        setRootPages(newRoots)
        let previous = update.saved.filter { $0.value != entry(of: $0.key) }
        return Changes(changedPages: changed, previousEntries: previous, isFullRebuild: false, previousRootPages: previousRoots)
    }

    /// `roots` with page 1, ascending, without duplicates (a sorted array with page 1 is
    /// returned as it is).
    static func sortedRoots(_ roots: some Sequence<UInt32>) -> [UInt32] {
        let list = (roots as? [UInt32]) ?? Array(roots)
        if list.first == 1, zip(list, list.dropFirst()).allSatisfy({ $0 < $1 }) { return list }
        return Set(list).union([1]).sorted()
    }

    /// Whether the ascending `list` holds `page`.
    /// - Complexity: O(log n).
    static func sortedContains(_ list: [UInt32], _ page: UInt32) -> Bool {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid] < page { low = mid + 1 } else { high = mid }
        }
        return low < list.count && list[low] == page
    }

    /// The usable page size of `source`, from page 1's header, checked as ``BTreeWalker``
    /// checks it (same errors); the last header decoded is remembered with its bytes, so the
    /// two snapshots of a transaction that did not write page 1 decode it once.
    ///
    /// - Throws: ``PageDecodingError`` `.notADatabase`, `.pageSizeMismatch`, an invalid
    ///   header, or the source's error.
    mutating func usableSize(of source: some PageSource) throws -> Int {
        let page1 = try source.page(1)
        if let known = headerMemo, known.page1 == page1, known.pageSize == source.pageSize { return known.usableSize }
        let usable = try BTreeWalker(source: FixedPage1(page1: page1, pageSize: source.pageSize,
                                                       databaseSizeInPages: source.databaseSizeInPages)).usableSize
        headerMemo = HeaderMemo(page1: page1, pageSize: source.pageSize, usableSize: usable)
        return usable
    }
}

/// A source holding page 1 alone, to decode a header through ``BTreeWalker/init(source:)``
/// (so its checks and errors stay in one place).
private struct FixedPage1: PageSource {
    let page1: [UInt8]
    let pageSize: Int
    let databaseSizeInPages: UInt32
    func page(_ number: UInt32) throws -> [UInt8] { page1 }
}

/// One snapshot as the incremental update reads it: its size, usable size, and a function
/// reading a page (a non-generic stand-in for the caller's ``PageSource``).
private struct SnapshotPages {
    let read: (UInt32) throws -> [UInt8]
    let databaseSizeInPages: UInt32
    let pageSize: Int
    let usableSize: Int

    init(_ source: some PageSource, usableSize: Int) {
        read = { try source.page($0) }
        databaseSizeInPages = source.databaseSizeInPages
        pageSize = source.pageSize
        self.usableSize = usableSize
    }

    /// The largest possible payload: the whole database.
    var maximumPayloadSize: Int { Int(databaseSizeInPages) * pageSize }

    func page(_ number: UInt32) throws -> [UInt8] { try read(number) }

    /// Checks that `page` is a page of this snapshot (links to page 0 or past the end are corrupt).
    func checkRange(_ page: UInt32) throws {
        guard page >= 1, page <= databaseSizeInPages else {
            throw PageDecodingError(.pageOutOfRange(databaseSizeInPages: databaseSizeInPages), pageNumber: page)
        }
    }
}

/// The working state of one incremental update.
private struct IncrementalUpdate {
    let changed: Set<UInt32>
    /// ``changed`` again, for the membership tests made once per child pointer walked.
    let changedBits: PageBitSet
    let old: SnapshotPages
    let new: SnapshotPages
    /// Pages with a written page below them in the old map.
    var marked: PageBitSet
    /// For each marked page, its children in the old map that are written or marked: the
    /// only children the walk needs to visit below a page the transaction did not write.
    var markedChildren: [UInt32: [UInt32]] = [:]
    /// Pages given an entry by this update's walk (each at most once: twice is a cycle).
    var attached: PageBitSet
    /// Pages detached by this update.
    var detached: PageBitSet
    /// The entry before this update of every page whose entry it changed.
    var saved: [UInt32: PageOwnership.Entry] = [:]

    /// - Parameter capacity: the larger of the map's and the new snapshot's size in pages.
    init(changed: Set<UInt32>, capacity: UInt32, old: SnapshotPages, new: SnapshotPages) {
        self.changed = changed
        var bits = PageBitSet(capacity: capacity)
        for page in changed { bits.insert(page) }
        changedBits = bits
        marked = PageBitSet(capacity: capacity)
        attached = PageBitSet(capacity: capacity)
        detached = PageBitSet(capacity: capacity)
        self.old = old
        self.new = new
    }
    mutating func remember(_ page: UInt32, in map: PageOwnership) {
        if saved[page] == nil { saved[page] = map.entry(of: page) }
    }

    /// The entry `page` had before this update.
    func entryBefore(_ page: UInt32, in map: PageOwnership) -> PageOwnership.Entry {
        saved[page] ?? map.entry(of: page)
    }

    /// Step 1: marks the old-map ancestors of every written page, stopping at a marked page.
    mutating func markAncestors(in map: PageOwnership) throws {
        let limit = Int(map.databaseSizeInPages) + 1
        for page in changed {
            var p = page, steps = 0
            while true {
                let parent = map.entry(of: p).parent
                guard parent != 0, parent != p else { break }
                markedChildren[parent, default: []].append(p)
                guard marked.insert(parent) else { break }
                p = parent
                steps += 1
                guard steps <= limit else { throw PageDecodingError(.cycle, pageNumber: page) }
            }
        }
    }

    /// Gives `page` its new entry; a page attached twice has two parents (or is on a cycle).
    ///
    /// Most attached pages keep their entry (every child of a walked interior page is
    /// attached, and usually one of them changed): those are not remembered, which is the
    /// same, since an attached page's entry is never set again by this update.
    mutating func attach(_ page: UInt32, to e: PageOwnership.Entry, in map: inout PageOwnership) throws {
        guard attached.insert(page) else { throw PageDecodingError(.cycle, pageNumber: page) }
        guard map.entry(of: page) != e else { return }
        remember(page, in: map)
        map.setEntry(page, e)
    }

    /// Whether the subtree (or chain tail) under `page` must be read: it was written or holds
    /// a written page, or it was not where the walk now finds it. `strict` also requires the
    /// same parent (overflow chains, roots); b-tree children that only changed parent keep
    /// their subtrees' entries.
    func needsWalk(_ page: UInt32, before: PageOwnership.Entry, expected: PageOwnership.Entry, strict: Bool) -> Bool {
        if changedBits.contains(page) || marked.contains(page) { return true }
        if strict { return before != expected }
        return !before.isOwned || before.isOverflowPage != expected.isOverflowPage
    }

    /// Step 2: walks the new tree from `root` into written or marked pages.
    mutating func walk(from root: UInt32, in map: inout PageOwnership) throws {
        let maximumPayload = new.maximumPayloadSize
        var stack: [(page: UInt32, depth: Int)] = [(root, 0)]
        var isTable: Bool?
        while let (number, depth) = stack.popLast() {
            guard depth < PageOwnership.maximumDepth else { throw PageDecodingError(.treeTooDeep(depth), pageNumber: number) }
            let page = try BTreePage.decode(number, bytes: try new.page(number), usableSize: new.usableSize, isTable: isTable)
            isTable = page.type.isTable
            if let children = unchangedChildrenToWalk(of: number, in: map) {
                for child in children {
                    try new.checkRange(child)
                    try attach(child, to: PageOwnership.Entry(parent: number, isOverflowPage: false), in: &map)
                    stack.append((child, depth + 1))
                }
                continue
            }
            let links = try map.links(of: page, maximumPayloadSize: maximumPayload, remember: true)
            for child in links.children {
                try new.checkRange(child)
                let before = map.entry(of: child)
                let expected = PageOwnership.Entry(parent: number, isOverflowPage: false)
                try attach(child, to: expected, in: &map)
                if needsWalk(child, before: before, expected: expected, strict: false) { stack.append((child, depth + 1)) }
            }
            for chain in links.chains {
                var previous = number, current = chain.first
                for i in 0..<chain.pageCount {
                    try new.checkRange(current)
                    let before = map.entry(of: current)
                    let expected = PageOwnership.Entry(parent: previous, isOverflowPage: true)
                    try attach(current, to: expected, in: &map)
                    // An unwritten, unmarked page in its old place: the rest of the chain is unchanged.
                    guard i < chain.pageCount - 1, needsWalk(current, before: before, expected: expected, strict: true) else { break }
                    let next = OverflowChain.nextPage(in: try new.page(current))
                    guard next != 0 else { throw PageDecodingError(.overflowChainTooShort, pageNumber: number) }
                    previous = current
                    current = next
                }
            }
        }
    }

    /// The children to walk below `page` when the transaction did not write it, without
    /// reading its cells: its bytes are the old ones, so its children are the old ones, and
    /// in the old map they point at it. Only those written or marked can hold a change; every
    /// other child keeps its entry and its subtree. (Attaching all of them, as for a written
    /// page, costs a cell parse per child of every interior page above a written leaf.)
    ///
    /// - Returns: `nil` when the shortcut does not apply: the page was written, was not a
    ///   b-tree page of a tree before, or a child to walk starts an overflow chain (whose
    ///   length only the cell tells).
    func unchangedChildrenToWalk(of page: UInt32, in map: PageOwnership) -> [UInt32]? {
        guard !changedBits.contains(page) else { return nil }
        let before = entryBefore(page, in: map)
        guard before.isOwned, !before.isOverflowPage else { return nil }
        var children: [UInt32] = []
        for child in markedChildren[page] ?? [] where !children.contains(child) {
            let e = entryBefore(child, in: map)
            guard e.parent == page, !e.isOverflowPage else { return nil }
            children.append(child)
        }
        return children
    }

    /// Calls `body` with each page `page` pointed at in the old snapshot, given its old entry:
    /// the next page of an overflow page (0 on the last), else the children and the first
    /// page of each overflow chain.
    func forEachOldLink(of page: UInt32, entry: PageOwnership.Entry, in map: inout PageOwnership, _ body: (UInt32) -> Void) throws {
        guard page <= old.databaseSizeInPages else { return }
        let bytes = try old.page(page)
        if entry.isOverflowPage { return body(OverflowChain.nextPage(in: bytes)) }
        let btree = try BTreePage(pageNumber: page, bytes: bytes, usableSize: old.usableSize)
        let links = try map.links(of: btree, maximumPayloadSize: old.maximumPayloadSize, remember: false)
        for child in links.children { body(child) }
        for chain in links.chains { body(chain.first) }
    }

    /// The written pages that some tree owned before, each followed by the pages it pointed
    /// at in the old snapshot (each with the written page as its old parent): where step 3
    /// starts. Read before the walk, which would otherwise replace the memo's entry for the
    /// old version (parsed when the previous transaction wrote it) with the new version's.
    func oldLinksOfWrittenPages(in map: inout PageOwnership) throws -> [(page: UInt32, oldParent: UInt32?)] {
        var work: [(page: UInt32, oldParent: UInt32?)] = []
        for page in changed.sorted() {
            let before = map.entry(of: page) // no entry has changed yet
            guard before.isOwned else { continue }
            work.append((page, nil))
            try forEachOldLink(of: page, entry: before, in: &map) { work.append(($0, page)) }
        }
        return work
    }

    /// Step 3: detaches the pages that lost their parent and were not re-attached, with
    /// their old subtrees (only where the old map says the old parent was the detached page).
    ///
    /// - Parameter writtenPagesOldLinks: ``oldLinksOfWrittenPages(in:)``, taken before the walk.
    mutating func detachOrphans(droppedRoots: [UInt32], writtenPagesOldLinks: [(page: UInt32, oldParent: UInt32?)],
                                in map: inout PageOwnership) throws {
        var work: [(page: UInt32, oldParent: UInt32?)] = droppedRoots.map { ($0, $0) } + writtenPagesOldLinks
        while let (page, oldParent) = work.popLast() {
            guard !attached.contains(page), !detached.contains(page) else { continue }
            let e = map.entry(of: page)
            guard e.isOwned, oldParent == nil || e.parent == oldParent else { continue }
            detached.insert(page)
            remember(page, in: map)
            map.setEntry(page, .unowned)
            try forEachOldLink(of: page, entry: e, in: &map) { if $0 != 0 { work.append(($0, page)) } }
        }
    }
}
