import CDCCore

/// One row of a table b-tree: its rowid and its record's values.
public struct TableRow: Hashable, Sendable {
    /// The rowid (the key of the table b-tree).
    public var rowid: Int64
    /// The record's values in column order; may be fewer than the table's columns (rows
    /// written before ALTER TABLE ADD COLUMN), and an INTEGER PRIMARY KEY column holds NULL.
    public var values: [SQLiteValue]
}

/// Iterates every row of a table b-tree or every entry of an index b-tree in key order,
/// joining overflow chains, with bounded work on any input.
///
/// Every page is checked: its number is within the snapshot's database size, it was not
/// visited before in the same walk (so a cycle ends the walk instead of looping), its type
/// matches the tree's kind, and every cell lies inside its usable area. A record header larger
/// than its payload, reserved serial types and truncated varints are errors too. Work is thus
/// bounded by the database size: each page is decoded at most once per walk.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages, §1.7 Cell Payload Overflow Pages,
/// §2.1 Record Format, §2.3 and §2.4 (tables and WITHOUT ROWID tables)
/// (https://www.sqlite.org/fileformat2.html).
public struct BTreeWalker<Source: PageSource> {
    /// Where pages come from.
    public let source: Source
    /// The database header, read from page 1 of the source.
    public let header: DatabaseHeader
    /// The deepest b-tree accepted; SQLite itself refuses trees deeper than 20 (btree.c).
    public static var maximumDepth: Int { 64 }

    /// Bytes usable per page.
    public var usableSize: Int { header.usableSize }

    /// Reads page 1's header.
    ///
    /// - Throws: ``PageDecodingError`` for an invalid header (including a non-UTF-8 encoding),
    ///   or `.pageSizeMismatch` when it disagrees with the source's page size.
    public init(source: Source) throws {
        let page1 = try source.page(1)
        guard let header = try DatabaseHeader.decode(page1[...]) else {
            throw PageDecodingError(.notADatabase, pageNumber: 1, offset: 0)
        }
        guard header.pageSize == source.pageSize else {
            throw PageDecodingError(.pageSizeMismatch(walPageSize: source.pageSize, databasePageSize: header.pageSize), pageNumber: 1)
        }
        self.source = source
        self.header = header
    }

    /// The largest possible payload in bytes: the whole database.
    var maximumPayloadSize: Int { Int(source.databaseSizeInPages) * source.pageSize }

    /// Calls `body` with every row of the table b-tree rooted at `rootPage`, in rowid order.
    ///
    /// - Throws: ``PageDecodingError`` for any invalid page, cell or record, or `body`'s error.
    /// - Complexity: O(pages + payload bytes) of the tree.
    public func forEachTableRow(rootPage: UInt32, _ body: (TableRow) throws -> Void) throws {
        let visited = VisitedPages()
        try walk(rootPage, isTable: true, depth: 0, visited: visited) { cell, pageNumber in
            let payload = try self.payload(of: cell, pageNumber: pageNumber, visited: visited)
            try body(TableRow(rowid: cell.rowid, values: try Record.decode(payload[...], pageNumber: pageNumber)))
        }
    }

    /// Calls `body` with at most `limit` rows of the table b-tree rooted at `rootPage` whose
    /// rowid is greater than `after` (all rows from the first when `nil`), in rowid order:
    /// one chunk of a snapshot read in chunks.
    ///
    /// - Returns: the last rowid passed to `body` when `limit` rows were read (more may
    ///   follow), or `nil` when the tree has no row after the chunk.
    /// - Throws: ``PageDecodingError`` for any invalid page, cell or record, or `body`'s error.
    /// - Complexity: one root-to-leaf descent, then O(pages + payload bytes) of the chunk.
    public func forEachTableRow(rootPage: UInt32, after: Int64?, limit: Int, _ body: (TableRow) throws -> Void) throws -> Int64? {
        var cursor = try after.map { try BTreeCursor(source: source, rootPage: rootPage, usableSize: usableSize, seekingPastRowID: $0) }
            ?? BTreeCursor(source: source, rootPage: rootPage, usableSize: usableSize, isTable: true)
        var count = 0
        var last: Int64?
        while count < max(1, limit), let entry = try cursor.next() {
            if let after, entry.rowid <= after { continue }
            try body(TableRow(rowid: entry.rowid, values: entry.values))
            last = entry.rowid
            count += 1
        }
        guard count >= max(1, limit), let last else { return nil }
        // Full: say "more" only when a row follows, so the caller's last chunk is not empty.
        return try cursor.next() == nil ? nil : last
    }

    /// Every row of the table b-tree rooted at `rootPage`, in rowid order.
    ///
    /// - Throws: as ``forEachTableRow(rootPage:_:)``.
    public func tableRows(rootPage: UInt32) throws -> [TableRow] {
        var rows: [TableRow] = []
        try forEachTableRow(rootPage: rootPage) { rows.append($0) }
        return rows
    }

    /// Calls `body` with every entry of the index b-tree rooted at `rootPage`, in key order.
    ///
    /// For a WITHOUT ROWID table an entry is a row: the primary-key columns first, then the
    /// other columns in declaration order (§2.4); for an index, the indexed columns then the rowid.
    ///
    /// - Throws: as ``forEachTableRow(rootPage:_:)``.
    public func forEachIndexEntry(rootPage: UInt32, _ body: ([SQLiteValue]) throws -> Void) throws {
        let visited = VisitedPages()
        try walk(rootPage, isTable: false, depth: 0, visited: visited) { cell, pageNumber in
            let payload = try self.payload(of: cell, pageNumber: pageNumber, visited: visited)
            try body(try Record.decode(payload[...], pageNumber: pageNumber))
        }
    }

    /// Every entry of the index b-tree rooted at `rootPage`, in key order.
    ///
    /// - Throws: as ``forEachTableRow(rootPage:_:)``.
    public func indexEntries(rootPage: UInt32) throws -> [[SQLiteValue]] {
        var entries: [[SQLiteValue]] = []
        try forEachIndexEntry(rootPage: rootPage) { entries.append($0) }
        return entries
    }

    /// The type of the root page: whether `rootPage` starts a table or an index b-tree.
    ///
    /// - Throws: ``PageDecodingError`` when the page is out of range or not a b-tree page.
    public func pageType(of rootPage: UInt32) throws -> BTreePageType {
        try BTreePage(pageNumber: rootPage, bytes: try source.page(rootPage), usableSize: usableSize).type
    }

    /// Reads one page of the tree, checking the visit bound.
    func visit(_ number: UInt32, visited: VisitedPages) throws -> [UInt8] {
        guard visited.pages.insert(number).inserted else { throw PageDecodingError(.cycle, pageNumber: number) }
        return try source.page(number)
    }

    /// In-order walk: for interior index cells, the left subtree, then the cell's own entry.
    private func walk(_ number: UInt32, isTable: Bool, depth: Int, visited: VisitedPages,
                      _ onPayloadCell: (BTreeCell, UInt32) throws -> Void) throws {
        guard depth < Self.maximumDepth else { throw PageDecodingError(.treeTooDeep(depth), pageNumber: number) }
        let page = try BTreePage(pageNumber: number, bytes: try visit(number, visited: visited), usableSize: usableSize)
        guard page.type.isTable == isTable else {
            throw PageDecodingError(.invalidPageType(page.type.rawValue), pageNumber: number, offset: number == 1 ? 100 : 0)
        }
        for i in 0..<page.cellCount {
            let cell = try BTreeCell(page: page, offset: try page.cellOffset(at: i), maximumPayloadSize: maximumPayloadSize)
            if !page.type.isLeaf {
                try walk(cell.leftChild, isTable: isTable, depth: depth + 1, visited: visited, onPayloadCell)
            }
            if page.type != .tableInterior {
                try onPayloadCell(cell, number)
            }
        }
        if !page.type.isLeaf {
            try walk(page.rightMostPointer, isTable: isTable, depth: depth + 1, visited: visited, onPayloadCell)
        }
    }

    /// The whole payload of `cell`: its local part, then its overflow chain (§1.7), each
    /// overflow page counted as visited.
    ///
    /// - Throws: ``PageDecodingError`` `.overflowChainTooShort`, `.cycle`, `.pageOutOfRange`.
    /// - Complexity: O(payload size).
    func payload(of cell: BTreeCell, pageNumber: UInt32, visited: VisitedPages) throws -> [UInt8] {
        try OverflowChain.payload(of: cell, pageNumber: pageNumber, usableSize: usableSize) {
            try visit($0, visited: visited)
        }
    }
}

/// The pages read so far in one walk (a reference, shared by the tree walk and the overflow
/// reads it triggers). Memory: 4 bytes or so a page of the tree.
final class VisitedPages {
    var pages = Set<UInt32>()
}
