/// The overflow pages of one cell's payload: how many there are and how to read them.
///
/// A payload larger than its local part continues on a chain of overflow pages; each holds
/// the next page's number (u32, 0 on the last page) and then up to U−4 payload bytes, with U
/// the usable size. The chain's length follows from the payload size alone:
/// ⌈(payload size − local size) / (U−4)⌉ pages. Readers stop after that many pages whatever
/// the last page's next pointer says, as SQLite does.
///
/// Source: SQLite, "Database File Format" §1.7 Cell Payload Overflow Pages
/// (https://www.sqlite.org/fileformat2.html#ovflpgs).
enum OverflowChain {
    /// The number of overflow pages of a payload of `payloadSize` bytes, `localSize` of them
    /// on the b-tree page (0 when the payload is all local).
    static func pageCount(payloadSize: Int, localSize: Int, usableSize: Int) -> Int {
        let spilled = payloadSize - localSize
        guard spilled > 0 else { return 0 }
        let perPage = usableSize - 4
        return (spilled + perPage - 1) / perPage
    }

    /// The next-page pointer at the start of an overflow page.
    static func nextPage(in bytes: [UInt8]) -> UInt32 {
        guard bytes.count >= 4 else { return 0 }
        return UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    }

    /// The whole payload of `cell`: its local part, then its overflow chain.
    ///
    /// - Parameters:
    ///   - cell: the parsed cell.
    ///   - pageNumber: the b-tree page holding the cell, for error locations.
    ///   - usableSize: bytes usable per page.
    ///   - read: reads one overflow page; it is where callers bound their work (a visited
    ///     set, or a read budget) so that a cyclic chain throws instead of looping.
    /// - Throws: ``PageDecodingError`` `.overflowChainTooShort` or `.cellOutOfPage`, or
    ///   `read`'s error.
    /// - Complexity: O(payload size).
    static func payload(of cell: BTreeCell, pageNumber: UInt32, usableSize: Int,
                        read: (UInt32) throws -> [UInt8]) throws -> [UInt8] {
        var payload = Array(cell.localPayload)
        guard payload.count < cell.payloadSize else { return payload }
        payload.reserveCapacity(cell.payloadSize)
        var next = cell.firstOverflowPage
        let perPage = usableSize - 4
        while payload.count < cell.payloadSize {
            guard next != 0 else { throw PageDecodingError(.overflowChainTooShort, pageNumber: pageNumber) }
            let page = try read(next)
            let take = min(perPage, cell.payloadSize - payload.count)
            guard page.count >= 4 + take else { throw PageDecodingError(.cellOutOfPage, pageNumber: next) }
            payload += page[4..<(4 + take)]
            next = nextPage(in: page)
        }
        return payload
    }
}
