import CDCCore

/// One entry of a b-tree: a table row (rowid and record) or an index entry (record).
struct BTreeEntry {
    /// The rowid for table b-tree rows; 0 for index entries.
    var rowid: Int64
    /// The record's values.
    var values: [SQLiteValue]
}

/// A pull-style, in-order walk of one b-tree that holds one page a level, for merging two
/// walks in step (``TransactionDiff``'s streaming path).
///
/// ``BTreeWalker`` pushes entries to a closure, which cannot advance two trees in step; this
/// cursor returns one entry per ``next()`` call instead. Work is bounded without remembering
/// visited pages: a valid tree and its overflow chains read each page of the database at most
/// once, so more reads than the database has pages means a page was reached twice (a cycle)
/// and the walk throws `.cycle`. Depth is bounded by ``BTreeWalker/maximumDepth``.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages (in-order: for an interior index
/// cell, its left subtree, then its own key), §1.7 (overflow) and §2.1 (records)
/// (https://www.sqlite.org/fileformat2.html).
struct BTreeCursor<Source: PageSource> {
    private struct Level {
        var page: BTreePage
        /// Leaves: the next cell. Interior pages: the cell whose left child is next or was
        /// just walked; cellCount stands for the right-most pointer.
        var index = 0
        /// Whether the left child of cell `index` has been walked.
        var isReturningFromChild = false
    }

    private let source: Source
    private let usableSize: Int
    private let isTable: Bool
    private var levels: [Level] = []
    private var readsLeft: Int

    /// Positions the cursor before the first entry of the tree rooted at `rootPage`.
    ///
    /// - Parameter isTable: whether the tree must be a table b-tree (else an index b-tree).
    /// - Throws: ``PageDecodingError`` for an invalid root page.
    init(source: Source, rootPage: UInt32, usableSize: Int, isTable: Bool) throws {
        self.source = source
        self.usableSize = usableSize
        self.isTable = isTable
        readsLeft = Int(source.databaseSizeInPages)
        try push(rootPage)
    }

    /// Positions the cursor of a table b-tree before its first row whose rowid is greater
    /// than `rowid`: one root-to-leaf descent. An interior table cell's key is the largest
    /// rowid of its left subtree, so the first cell whose key exceeds `rowid` leads to the
    /// first such row (the right-most pointer when none does). Source: SQLite, "Database
    /// File Format" §1.6 (https://www.sqlite.org/fileformat2.html).
    ///
    /// - Throws: ``PageDecodingError`` for an invalid page or cell.
    /// - Complexity: O(depth × cells a page), binary search left out for clarity.
    init(source: Source, rootPage: UInt32, usableSize: Int, seekingPastRowID rowid: Int64) throws {
        self.source = source
        self.usableSize = usableSize
        self.isTable = true
        readsLeft = Int(source.databaseSizeInPages)
        try push(rootPage)
        while let top = levels.last, !top.page.type.isLeaf {
            let i = levels.count - 1
            var j = 0
            while j < top.page.cellCount, try cell(j, of: top.page).rowid <= rowid { j += 1 }
            if j < top.page.cellCount {
                // As next() leaves it after descending into cell j's left child.
                levels[i].index = j
                levels[i].isReturningFromChild = true
                try push(try cell(j, of: top.page).leftChild)
            } else {
                levels[i].index = top.page.cellCount + 1
                try push(top.page.rightMostPointer)
            }
        }
        if let top = levels.last {
            var j = 0
            while j < top.page.cellCount, try cell(j, of: top.page).rowid <= rowid { j += 1 }
            levels[levels.count - 1].index = j
        }
    }

    private var maximumPayloadSize: Int { Int(source.databaseSizeInPages) * source.pageSize }

    /// Reads a page, counting it against the bound.
    private mutating func read(_ number: UInt32) throws -> [UInt8] {
        readsLeft -= 1
        guard readsLeft >= 0 else { throw PageDecodingError(.cycle, pageNumber: number) }
        return try source.page(number)
    }

    private mutating func push(_ number: UInt32) throws {
        guard levels.count < BTreeWalker<Source>.maximumDepth else {
            throw PageDecodingError(.treeTooDeep(levels.count), pageNumber: number)
        }
        levels.append(Level(page: try BTreePage.decode(number, bytes: try read(number), usableSize: usableSize, isTable: isTable)))
    }

    private func cell(_ index: Int, of page: BTreePage) throws -> BTreeCell {
        try BTreeCell(page: page, offset: try page.cellOffset(at: index), maximumPayloadSize: maximumPayloadSize)
    }

    /// The next entry in key order, or `nil` after the last.
    ///
    /// - Throws: ``PageDecodingError`` for an invalid page, cell, overflow chain or record.
    mutating func next() throws -> BTreeEntry? {
        while let top = levels.last {
            let i = levels.count - 1
            let page = top.page
            if page.type.isLeaf {
                guard top.index < page.cellCount else { levels.removeLast(); continue }
                levels[i].index += 1
                return try entry(of: try cell(top.index, of: page), on: page)
            }
            if top.isReturningFromChild {
                levels[i].isReturningFromChild = false
                levels[i].index += 1
                if page.type == .indexInterior { return try entry(of: try cell(top.index, of: page), on: page) }
            } else if top.index < page.cellCount {
                levels[i].isReturningFromChild = true
                try push(try cell(top.index, of: page).leftChild)
            } else if top.index == page.cellCount {
                levels[i].index += 1
                try push(page.rightMostPointer)
            } else {
                levels.removeLast()
            }
        }
        return nil
    }

    private mutating func entry(of cell: BTreeCell, on page: BTreePage) throws -> BTreeEntry {
        var reads: [UInt32] = []
        let payload = try OverflowChain.payload(of: cell, pageNumber: page.pageNumber, usableSize: usableSize) { number in
            reads.append(number)
            guard reads.count <= readsLeft else { throw PageDecodingError(.cycle, pageNumber: number) }
            return try source.page(number)
        }
        readsLeft -= reads.count
        return BTreeEntry(rowid: cell.rowid, values: try Record.decode(payload[...], pageNumber: page.pageNumber))
    }
}
