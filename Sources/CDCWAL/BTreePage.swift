/// The four kinds of b-tree page, by the first byte of the page header.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages
/// (https://www.sqlite.org/fileformat2.html#b_tree_pages).
public enum BTreePageType: UInt8, Sendable {
    /// 0x02: an interior page of an index b-tree (cells: left child, key payload).
    case indexInterior = 0x02
    /// 0x05: an interior page of a table b-tree (cells: left child, rowid).
    case tableInterior = 0x05
    /// 0x0A: a leaf page of an index b-tree (cells: key payload).
    case indexLeaf = 0x0A
    /// 0x0D: a leaf page of a table b-tree (cells: rowid, record payload).
    case tableLeaf = 0x0D

    /// Whether the page has no children.
    public var isLeaf: Bool { self == .indexLeaf || self == .tableLeaf }
    /// Whether the page belongs to a table (rowid-keyed) b-tree.
    public var isTable: Bool { self == .tableInterior || self == .tableLeaf }
}

/// One b-tree page's header and cell pointer array, checked against the page's bounds.
///
/// The header is 8 bytes on leaves and 12 on interior pages, at offset 100 on page 1 and 0
/// elsewhere; the cell pointer array (2 bytes a cell, offsets from the page start) follows.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages
/// (https://www.sqlite.org/fileformat2.html#b_tree_pages).
public struct BTreePage {
    /// The 1-based page number.
    public let pageNumber: UInt32
    /// The page's bytes (the whole page, reserved bytes included).
    public let bytes: [UInt8]
    /// Bytes usable by content: page size minus reserved bytes.
    public let usableSize: Int
    /// The page type.
    public let type: BTreePageType
    /// The number of cells.
    public let cellCount: Int
    /// The right-most child pointer (interior pages only, else 0).
    public let rightMostPointer: UInt32
    /// Offset of the first cell pointer: header offset plus header size.
    let cellPointerArrayOffset: Int

    /// Decodes the page header.
    ///
    /// - Parameters:
    ///   - pageNumber: the page's number (page 1's header starts after the 100-byte file header).
    ///   - bytes: the whole page.
    ///   - usableSize: page size minus reserved bytes, in bytes.
    /// - Throws: ``PageDecodingError`` `.invalidPageType` or `.cellCountTooLarge`.
    public init(pageNumber: UInt32, bytes: [UInt8], usableSize: Int) throws {
        let headerOffset = pageNumber == 1 ? DatabaseHeader.size : 0
        let usable = min(usableSize, bytes.count)
        guard headerOffset + 8 <= usable else {
            throw PageDecodingError(.cellOutOfPage, pageNumber: pageNumber, offset: headerOffset)
        }
        guard let type = BTreePageType(rawValue: bytes[headerOffset]) else {
            throw PageDecodingError(.invalidPageType(bytes[headerOffset]), pageNumber: pageNumber, offset: headerOffset)
        }
        var c = ByteCursor(bytes)
        c.seek(to: headerOffset + 3)
        let count = Int(c.readUInt16() ?? 0) // safe: headerOffset + 8 <= bytes.count
        var right: UInt32 = 0
        var headerSize = 8
        if !type.isLeaf {
            headerSize = 12
            c.seek(to: headerOffset + 8)
            guard let r = c.readUInt32() else {
                throw PageDecodingError(.cellOutOfPage, pageNumber: pageNumber, offset: headerOffset + 8)
            }
            right = r
        }
        let arrayOffset = headerOffset + headerSize
        guard arrayOffset + 2 * count <= usable else {
            throw PageDecodingError(.cellCountTooLarge(count), pageNumber: pageNumber, offset: headerOffset + 3)
        }
        self.pageNumber = pageNumber
        self.bytes = bytes
        self.usableSize = usable
        self.type = type
        self.cellCount = count
        self.rightMostPointer = right
        self.cellPointerArrayOffset = arrayOffset
    }

    /// The offset from the page start of cell `index` (0-based), checked to lie after the cell
    /// pointer array and inside the usable area.
    ///
    /// - Throws: ``PageDecodingError`` `.cellOutOfPage`.
    public func cellOffset(at index: Int) throws -> Int {
        let p = cellPointerArrayOffset + 2 * index
        guard index >= 0, index < cellCount else {
            throw PageDecodingError(.cellOutOfPage, pageNumber: pageNumber, offset: p)
        }
        let offset = Int(bytes[p]) << 8 | Int(bytes[p + 1])
        guard offset >= cellPointerArrayOffset + 2 * cellCount, offset < usableSize else {
            throw PageDecodingError(.cellOutOfPage, pageNumber: pageNumber, offset: p)
        }
        return offset
    }
}

extension BTreePage {
    /// Decodes page `pageNumber` of a tree whose pages must all be table pages or all index
    /// pages (§1.6: a b-tree holds one kind).
    ///
    /// - Parameter isTable: the tree's kind; `nil` accepts either (the root decides).
    /// - Throws: ``PageDecodingError`` as ``init(pageNumber:bytes:usableSize:)``, or
    ///   `.invalidPageType` for a page of the other kind.
    static func decode(_ pageNumber: UInt32, bytes: [UInt8], usableSize: Int, isTable: Bool?) throws -> BTreePage {
        let page = try BTreePage(pageNumber: pageNumber, bytes: bytes, usableSize: usableSize)
        if let isTable, page.type.isTable != isTable {
            throw PageDecodingError(.invalidPageType(page.type.rawValue), pageNumber: pageNumber, offset: pageNumber == 1 ? 100 : 0)
        }
        return page
    }
}

extension BTreePage {
    /// Calls `body` with the index, offset and layout of every cell, in cell order: what
    /// ``cellOffset(at:)`` and ``BTreeCell/init(page:offset:maximumPayloadSize:)`` give, with
    /// the same checks and errors, parsed in one pass over the page's bytes.
    ///
    /// - Parameter maximumPayloadSize: as for ``BTreeCell/init(page:offset:maximumPayloadSize:)``.
    /// - Throws: ``PageDecodingError`` `.cellOutOfPage`, `.truncatedVarint`, `.payloadTooLarge`,
    ///   or `body`'s error.
    /// - Complexity: O(cells).
    func forEachCell(maximumPayloadSize: Int, _ body: (_ index: Int, _ offset: Int, _ cell: CellLayout) throws -> Void) throws {
        try bytes.withUnsafeBufferPointer { all in
            let area = UnsafeBufferPointer(rebasing: all[0..<usableSize])
            let contentStart = cellPointerArrayOffset + 2 * cellCount
            for i in 0..<cellCount {
                // The checks of cellOffset(at:) (the init checked that the array fits).
                let p = cellPointerArrayOffset + 2 * i
                let offset = Int(area[p]) << 8 | Int(area[p + 1])
                guard offset >= contentStart, offset < usableSize else {
                    throw PageDecodingError(.cellOutOfPage, pageNumber: pageNumber, offset: p)
                }
                try body(i, offset, try CellLayout(area: area, type: type, pageNumber: pageNumber, offset: offset,
                                                   maximumPayloadSize: maximumPayloadSize))
            }
        }
    }
}
