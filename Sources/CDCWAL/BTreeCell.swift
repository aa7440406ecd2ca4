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
        let area = page.bytes[0..<page.usableSize]
        var c = ByteCursor(area)
        guard c.seek(to: offset) else { throw PageDecodingError(.cellOutOfPage, pageNumber: page.pageNumber, offset: offset) }
        func fail(_ kind: PageDecodingError.Kind) -> PageDecodingError {
            PageDecodingError(kind, pageNumber: page.pageNumber, offset: offset)
        }
        if !page.type.isLeaf {
            guard let child = c.readUInt32() else { throw fail(.cellOutOfPage) }
            leftChild = child
        }
        if page.type == .tableInterior {
            guard let key = c.readVarint() else { throw fail(.truncatedVarint) }
            rowid = Int64(bitPattern: key)
            return
        }
        guard let size = c.readVarint() else { throw fail(.truncatedVarint) }
        guard size <= UInt64(max(0, maximumPayloadSize)) else { throw fail(.payloadTooLarge(size)) }
        payloadSize = Int(size)
        if page.type == .tableLeaf {
            guard let key = c.readVarint() else { throw fail(.truncatedVarint) }
            rowid = Int64(bitPattern: key)
        }
        let local = PayloadLayout.localSize(payloadSize: payloadSize, usableSize: page.usableSize,
                                            isTableLeaf: page.type == .tableLeaf)
        guard let bytes = c.readBytes(local) else { throw fail(.cellOutOfPage) }
        localPayload = bytes
        if local < payloadSize {
            guard let next = c.readUInt32() else { throw fail(.cellOutOfPage) }
            firstOverflowPage = next
        }
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
