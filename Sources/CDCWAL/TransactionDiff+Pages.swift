/// Which pages of which tree a transaction affected, from the ownership map before and after.
extension TransactionDiff {
    /// For each tree (by index in `trees`), the b-tree pages whose old versions hold rows
    /// before, and those whose new versions hold rows after.
    ///
    /// The candidates are the written pages and the pages whose entry changed. An unwritten
    /// candidate of the same kind in the same tree on both sides only moved inside the tree
    /// (a child pointer moved between siblings): its rows are the same, it is skipped. An
    /// overflow page stands for the b-tree page holding its chain, found by walking up.
    func affectedPages(of trees: [DiffedTree]) throws -> (before: [Set<UInt32>], after: [Set<UInt32>]) {
        var before = [Set<UInt32>](repeating: [], count: trees.count)
        var after = before
        var treeBefore: [UInt32: Int] = [:], treeAfter: [UInt32: Int] = [:]
        for (i, tree) in trees.enumerated() {
            if let r = tree.rootBefore { treeBefore[r] = i }
            if let r = tree.rootAfter { treeAfter[r] = i }
        }
        let limit = Int(max(old.databaseSizeInPages, new.databaseSizeInPages)) + 1
        let changes = self.changes, ownership = self.ownership
        var resolveBefore = OwnershipResolver(limit: limit) { changes.entryBefore($0, in: ownership) }
        var resolveAfter = OwnershipResolver(limit: limit) { ownership.entry(of: $0) }
        let changed = changes.changedPages
        for page in changed.union(changes.previousEntries.keys) {
            let b = resolveBefore.resolve(page), a = resolveAfter.resolve(page)
            if !changed.contains(page) {
                let treeB = b.flatMap { treeBefore[$0.root] } ?? -1, treeA = a.flatMap { treeAfter[$0.root] } ?? -1
                let sameKind = changes.entryBefore(page, in: ownership).isOverflowPage == ownership.entry(of: page).isOverflowPage
                if sameKind && treeB == treeA { continue }
            }
            if let b, let i = treeBefore[b.root] { before[i].insert(b.holder) }
            if let a, let i = treeAfter[a.root] { after[i].insert(a.holder) }
        }
        return (before, after)
    }
}

/// Resolves pages to their b-tree page and root through one version of the ownership map,
/// remembering every page it passes so that many pages of one long overflow chain cost one
/// walk up the chain, not one each.
struct OwnershipResolver {
    /// Where a page sits: the b-tree page holding it (itself for a b-tree page) and the root.
    struct Place: Hashable {
        var holder: UInt32
        var root: UInt32
    }

    let limit: Int
    let entry: (UInt32) -> PageOwnership.Entry
    private var memo: [UInt32: Place?] = [:]

    /// - Parameter limit: the most steps up (the database size: longer is a cycle).
    init(limit: Int, entry: @escaping (UInt32) -> PageOwnership.Entry) {
        self.limit = limit
        self.entry = entry
    }

    /// The page's place, or `nil` when it is not owned or its parents do not reach a root
    /// within `limit` steps.
    mutating func resolve(_ page: UInt32) -> Place? {
        var path: [UInt32] = []
        var p = page
        var found: Place?? = nil
        var holderAbove: UInt32 = 0
        while found == nil {
            if let m = memo[p] { found = m; holderAbove = m?.holder ?? 0; break }
            let e = entry(p)
            guard e.isOwned, path.count < limit else { found = .some(nil); break }
            path.append(p)
            if e.parent == p { found = Place(holder: p, root: p); holderAbove = p; break }
            p = e.parent
        }
        guard let place = found ?? nil else {
            for x in path { memo[x] = .some(nil) }
            return nil
        }
        for x in path.reversed() {
            let holder = entry(x).isOverflowPage && x != place.root ? holderAbove : x
            memo[x] = Place(holder: holder, root: place.root)
            holderAbove = holder
        }
        return memo[page] ?? nil
    }
}
