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
        let changed = Set(changedPages)
        let newRoots = Set(roots).union([1]).sorted()
        let previousRoots = rootPages
        let threshold = rebuildThreshold ?? max(Self.minimumRebuildThreshold, Int(new.databaseSizeInPages) / 2)
        if changed.count >= threshold {
            let full = try Self.build(source: new, roots: newRoots)
            var previous: [UInt32: Entry] = [:]
            for page in mismatchedPages(comparedWith: full) { previous[page] = entry(of: page) }
            self = full
            return Changes(changedPages: changed, previousEntries: previous, isFullRebuild: true, previousRootPages: previousRoots)
        }
        var update = IncrementalUpdate(changed: changed, capacity: max(databaseSizeInPages, new.databaseSizeInPages), old: old, new: new,
                                       oldUsableSize: try BTreeWalker(source: old).usableSize,
                                       newUsableSize: try BTreeWalker(source: new).usableSize)
        resize(to: max(databaseSizeInPages, new.databaseSizeInPages))
        try update.markAncestors(in: self)
        for root in newRoots {
            try Self.checkRange(root, new)
            let before = entry(of: root)
            try update.attach(root, to: Entry(parent: root, isOverflowPage: false), in: &self)
            if update.needsWalk(root, before: before, expected: Entry(parent: root, isOverflowPage: false), strict: true) {
                try update.walk(from: root, in: &self)
            }
        }
        try update.detachOrphans(droppedRoots: previousRoots.filter { !newRoots.contains($0) }, in: &self)
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
}

/// The working state of one incremental update.
private struct IncrementalUpdate<Old: PageSource, New: PageSource> {
    let changed: Set<UInt32>
    /// ``changed`` again, for the membership tests made once per child pointer walked.
    let changedBits: PageBitSet
    let old: Old
    let new: New
    let oldUsableSize: Int
    let newUsableSize: Int
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
    init(changed: Set<UInt32>, capacity: UInt32, old: Old, new: New, oldUsableSize: Int, newUsableSize: Int) {
        self.changed = changed
        var bits = PageBitSet(capacity: capacity)
        for page in changed { bits.insert(page) }
        changedBits = bits
        marked = PageBitSet(capacity: capacity)
        attached = PageBitSet(capacity: capacity)
        detached = PageBitSet(capacity: capacity)
        self.old = old
        self.new = new
        self.oldUsableSize = oldUsableSize
        self.newUsableSize = newUsableSize
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
        let maximumPayload = Int(new.databaseSizeInPages) * new.pageSize
        var stack: [(page: UInt32, depth: Int)] = [(root, 0)]
        var isTable: Bool?
        while let (number, depth) = stack.popLast() {
            guard depth < BTreeWalker<New>.maximumDepth else { throw PageDecodingError(.treeTooDeep(depth), pageNumber: number) }
            let page = try BTreePage.decode(number, bytes: try new.page(number), usableSize: newUsableSize, isTable: isTable)
            isTable = page.type.isTable
            if let children = unchangedChildrenToWalk(of: number, in: map) {
                for child in children {
                    try PageOwnership.checkRange(child, new)
                    try attach(child, to: PageOwnership.Entry(parent: number, isOverflowPage: false), in: &map)
                    stack.append((child, depth + 1))
                }
                continue
            }
            let links = try PageOwnership.Links(of: page, maximumPayloadSize: maximumPayload)
            for child in links.children {
                try PageOwnership.checkRange(child, new)
                let before = map.entry(of: child)
                let expected = PageOwnership.Entry(parent: number, isOverflowPage: false)
                try attach(child, to: expected, in: &map)
                if needsWalk(child, before: before, expected: expected, strict: false) { stack.append((child, depth + 1)) }
            }
            for chain in links.chains {
                var previous = number, current = chain.first
                for i in 0..<chain.pageCount {
                    try PageOwnership.checkRange(current, new)
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

    /// The pages `page` pointed at in the old snapshot, given its old entry.
    func oldLinks(of page: UInt32, entry: PageOwnership.Entry) throws -> [UInt32] {
        guard page <= old.databaseSizeInPages else { return [] }
        let bytes = try old.page(page)
        if entry.isOverflowPage { return [OverflowChain.nextPage(in: bytes)] }
        let btree = try BTreePage(pageNumber: page, bytes: bytes, usableSize: oldUsableSize)
        let links = try PageOwnership.Links(of: btree, maximumPayloadSize: Int(old.databaseSizeInPages) * old.pageSize)
        return links.children + links.chains.map(\.first)
    }

    /// Step 3: detaches the pages that lost their parent and were not re-attached, with
    /// their old subtrees (only where the old map says the old parent was the detached page).
    mutating func detachOrphans(droppedRoots: [UInt32], in map: inout PageOwnership) throws {
        var work: [(page: UInt32, oldParent: UInt32?)] = droppedRoots.map { ($0, $0) }
        for page in changed.sorted() {
            let before = entryBefore(page, in: map)
            guard before.isOwned else { continue }
            work.append((page, nil))
            for child in try oldLinks(of: page, entry: before) { work.append((child, page)) }
        }
        while let (page, oldParent) = work.popLast() {
            guard !attached.contains(page), !detached.contains(page) else { continue }
            let e = map.entry(of: page)
            guard e.isOwned, oldParent == nil || e.parent == oldParent else { continue }
            detached.insert(page)
            remember(page, in: map)
            map.setEntry(page, .unowned)
            for child in try oldLinks(of: page, entry: e) where child != 0 { work.append((child, page)) }
        }
    }
}
