/// One cell of a b-tree page, with its payload's local part located but overflow not read.
///
/// Formats: table leaf: payload size varint, rowid varint, local payload, first overflow page
/// (u32, only when the payload spills); table interior: left child (u32), rowid varint; index
/// leaf: payload size varint, local payload, overflow page; index interior: left child, then
/// as an index leaf.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages, the cell format table
/// (https://www.sqlite.org/fileformat2.html#b_tree_pages).
public struct BTreeCell: Sendable {
    /// The left child page, for interior cells; 0 on leaves.
    public var leftChild: UInt32 = 0
    /// The rowid, for table cells; 0 for index cells.
    public var rowid: Int64 = 0
    /// The total payload size in bytes (0 for table interior cells, which have none).
    public var payloadSize: Int = 0
    /// The payload bytes stored on the page.
    public var localPayload: ArraySlice<UInt8> = []
    /// The first overflow page, or 0 when the whole payload is local.
    public var firstOverflowPage: UInt32 = 0

    /// Parses the cell at `offset` of `page`.
    ///
    /// - Parameters:
    ///   - page: the decoded page.
    ///   - offset: the cell's offset from the page start (from ``BTreePage/cellOffset(at:)``).
    ///   - maximumPayloadSize: payload sizes above this, in bytes, are rejected (pass the
    ///     database size in bytes: no payload can be larger).
    /// - Throws: ``PageDecodingError`` `.truncatedVarint`, `.cellOutOfPage` or `.payloadTooLarge`.
    public init(page: BTreePage, offset: Int, maximumPayloadSize: Int) throws {
        let layout = try page.bytes.withUnsafeBufferPointer {
            try CellLayout(area: UnsafeBufferPointer(rebasing: $0[0..<page.usableSize]), type: page.type,
                           pageNumber: page.pageNumber, offset: offset, maximumPayloadSize: maximumPayloadSize)
        }
        self.init(page: page, layout: layout)
    }

    /// The cell whose fields `layout` located on `page`.
    init(page: BTreePage, layout: CellLayout) {
        leftChild = layout.leftChild
        rowid = layout.rowid
        payloadSize = layout.payloadSize
        localPayload = page.bytes[layout.localStart..<(layout.localStart + layout.localCount)]
        firstOverflowPage = layout.firstOverflowPage
    }
}

/// How much of a payload stays on the b-tree page and how much spills to overflow pages.
///
/// With U the usable size and P the payload size: X = U−35 on table leaves and
/// ((U−12)·64/255)−23 on index pages; M = ((U−12)·32/255)−23; if P ≤ X all is local; else
/// K = M + ((P−M) mod (U−4)) and the local part is K when K ≤ X, else M. Each overflow page
/// holds a 4-byte next-page number and U−4 payload bytes.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages (the X, M, K paragraph) and §1.7
/// Cell Payload Overflow Pages (https://www.sqlite.org/fileformat2.html#b_tree_pages).
public enum PayloadLayout {
    /// X: the largest payload, in bytes, kept entirely on the page.
    public static func maximumLocal(usableSize: Int, isTableLeaf: Bool) -> Int {
        isTableLeaf ? usableSize - 35 : ((usableSize - 12) * 64 / 255) - 23
    }

    /// M: the smallest local part, in bytes, of a payload that spills.
    public static func minimumLocal(usableSize: Int) -> Int {
        ((usableSize - 12) * 32 / 255) - 23
    }

    /// The bytes of a `payloadSize`-byte payload stored on the page.
    public static func localSize(payloadSize: Int, usableSize: Int, isTableLeaf: Bool) -> Int {
        let x = maximumLocal(usableSize: usableSize, isTableLeaf: isTableLeaf)
        if payloadSize <= x { return payloadSize }
        let m = minimumLocal(usableSize: usableSize)
        let k = m + ((payloadSize - m) % (usableSize - 4))
        return k <= x ? k : m
    }
}

/// Where one cell's fields lie on its page: what ``BTreeCell`` holds, with the local payload
/// as offsets instead of a slice, so loops over every cell of a page (the ownership map, the
/// diff) parse cells without reference counting or copies. ``BTreeCell`` is parsed through it,
/// so both read the format the same way and fail the same way.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages, the cell format table
/// (https://www.sqlite.org/fileformat2.html#b_tree_pages).
struct CellLayout {
    /// The left child page, for interior cells; 0 on leaves.
    var leftChild: UInt32 = 0
    /// The rowid, for table cells; 0 for index cells.
    var rowid: Int64 = 0
    /// The total payload size in bytes (0 for table interior cells).
    var payloadSize = 0
    /// The offset from the page start of the local payload.
    var localStart = 0
    /// The bytes of payload stored on the page.
    var localCount = 0
    /// The first overflow page, or 0 when the whole payload is local.
    var firstOverflowPage: UInt32 = 0

    /// Parses the cell at `offset` in `area`, a page's usable bytes.
    ///
    /// - Throws: ``PageDecodingError`` `.truncatedVarint`, `.cellOutOfPage` or `.payloadTooLarge`.
    init(area: UnsafeBufferPointer<UInt8>, type: BTreePageType, pageNumber: UInt32, offset: Int, maximumPayloadSize: Int) throws {
        func fail(_ kind: PageDecodingError.Kind) -> PageDecodingError {
            PageDecodingError(kind, pageNumber: pageNumber, offset: offset)
        }
        let end = area.count
        guard offset >= 0, offset <= end else { throw fail(.cellOutOfPage) }
        var p = offset
        /// Reads one varint (§1.6) at `p`, or `nil` when the area ends inside it.
        func varint() -> UInt64? {
            var value: UInt64 = 0
            for n in 0..<Varint.maximumLength {
                guard p < end else { return nil }
                let byte = area[p]
                p += 1
                if n == Varint.maximumLength - 1 { return (value << 8) | UInt64(byte) }
                value = (value << 7) | UInt64(byte & 0x7F)
                if byte & 0x80 == 0 { return value }
            }
            return nil // safe: the loop returns on its ninth byte at the latest
        }
        func uint32() -> UInt32? {
            guard end - p >= 4 else { return nil }
            defer { p += 4 }
            return UInt32(area[p]) << 24 | UInt32(area[p + 1]) << 16 | UInt32(area[p + 2]) << 8 | UInt32(area[p + 3])
        }
        if !type.isLeaf {
            guard let child = uint32() else { throw fail(.cellOutOfPage) }
            leftChild = child
        }
        if type == .tableInterior {
            guard let key = varint() else { throw fail(.truncatedVarint) }
            rowid = Int64(bitPattern: key)
            return
        }
        guard let size = varint() else { throw fail(.truncatedVarint) }
        guard size <= UInt64(max(0, maximumPayloadSize)) else { throw fail(.payloadTooLarge(size)) }
        payloadSize = Int(size)
        if type == .tableLeaf {
            guard let key = varint() else { throw fail(.truncatedVarint) }
            rowid = Int64(bitPattern: key)
        }
        let local = PayloadLayout.localSize(payloadSize: payloadSize, usableSize: end, isTableLeaf: type == .tableLeaf)
        guard local >= 0, local <= end - p else { throw fail(.cellOutOfPage) }
        localStart = p
        localCount = local
        p += local
        if local < payloadSize {
            guard let next = uint32() else { throw fail(.cellOutOfPage) }
            firstOverflowPage = next
        }
    }
}
