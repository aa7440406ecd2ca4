/// The pages of the freelist: trunk pages and the leaf pages they list.
///
/// A trunk page holds the next trunk's number (u32, 0 at the end), a leaf count L (u32) and
/// L leaf page numbers (u32 each). The first trunk is named by the header (offset 32) and the
/// total count of trunks and leaves by offset 36.
///
/// Source: SQLite, "Database File Format" §1.5 The Freelist
/// (https://www.sqlite.org/fileformat2.html#the_freelist).
public struct Freelist: Hashable, Sendable {
    /// Trunk page numbers, in chain order.
    public var trunkPages: [UInt32]
    /// Leaf page numbers, in the order the trunks list them.
    public var leafPages: [UInt32]

    /// Every free page (trunks and leaves).
    public var pageCount: Int { trunkPages.count + leafPages.count }

    /// Reads the freelist that `header` describes from `source`.
    ///
    /// - Throws: ``PageDecodingError`` `.freelistCorrupt` when a trunk lists more leaves than
    ///   fit on it, a page repeats, or the list holds more pages than the header's count;
    ///   `.pageOutOfRange` for a page beyond the database size.
    /// - Complexity: O(free pages); reads only the trunk pages.
    public static func read(from source: some PageSource, header: DatabaseHeader) throws -> Freelist {
        var list = Freelist(trunkPages: [], leafPages: [])
        var seen = Set<UInt32>()
        let maximumLeaves = header.usableSize / 4 - 2
        let limit = Int(header.freelistPageCount)
        var trunk = header.firstFreelistTrunkPage
        while trunk != 0 {
            guard seen.insert(trunk).inserted, list.pageCount < limit else {
                throw PageDecodingError(.freelistCorrupt, pageNumber: trunk)
            }
            let page = try source.page(trunk)
            var c = ByteCursor(page)
            guard let next = c.readUInt32(), let count = c.readUInt32(), Int(count) <= maximumLeaves else {
                throw PageDecodingError(.freelistCorrupt, pageNumber: trunk, offset: 4)
            }
            list.trunkPages.append(trunk)
            for i in 0..<Int(count) {
                guard let leaf = c.readUInt32() else { throw PageDecodingError(.freelistCorrupt, pageNumber: trunk, offset: 8 + 4 * i) }
                guard leaf >= 1, leaf <= source.databaseSizeInPages else {
                    throw PageDecodingError(.pageOutOfRange(databaseSizeInPages: source.databaseSizeInPages), pageNumber: leaf)
                }
                guard seen.insert(leaf).inserted else { throw PageDecodingError(.freelistCorrupt, pageNumber: leaf) }
                list.leafPages.append(leaf)
            }
            trunk = next
        }
        guard list.pageCount <= limit else { throw PageDecodingError(.freelistCorrupt, pageNumber: header.firstFreelistTrunkPage) }
        return list
    }
}
