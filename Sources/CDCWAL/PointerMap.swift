/// Pointer-map pages of an auto-vacuum database: where they are and what they say.
///
/// With J = usableSize/5 entries a page, the first pointer-map page is page 2 and describes
/// pages 3...J+2; the next is page J+3, and so on every J+1 pages (skipping the lock-byte
/// page, which is never used). An entry is 5 bytes: a type (1 root page, 2 free page, 3 first
/// overflow page, 4 later overflow page, 5 non-root b-tree page) and the parent page (u32; 0
/// for types 1 and 2).
///
/// Source: SQLite, "Database File Format" §1.8 Pointer Map or Ptrmap Pages and §1.4 The
/// Lock-Byte Page (https://www.sqlite.org/fileformat2.html#pointer_map_or_ptrmap_pages).
public enum PointerMap {
    /// What a pointer-map entry says a page is.
    public enum EntryType: UInt8, Sendable {
        /// A b-tree root page (parent 0).
        case rootPage = 1
        /// A freelist page (parent 0).
        case freePage = 2
        /// The first page of an overflow chain; the parent is the b-tree page holding the cell.
        case firstOverflowPage = 3
        /// A later overflow page; the parent is the previous overflow page.
        case laterOverflowPage = 4
        /// A non-root b-tree page; the parent is its parent b-tree page.
        case nonRootBTreePage = 5
    }

    /// One entry.
    public struct Entry: Hashable, Sendable {
        /// What the page is.
        public var type: EntryType
        /// The page that points at it (see ``EntryType``).
        public var parentPage: UInt32
    }

    /// The page holding the lock byte (offset 2^30 of the file), never used for data.
    public static func lockBytePage(pageSize: Int) -> UInt32 {
        UInt32(0x4000_0000 / pageSize + 1)
    }

    /// The pointer-map page describing `page` (page 2 or later).
    public static func mapPage(for page: UInt32, usableSize: Int, pageSize: Int) -> UInt32 {
        guard page >= 2 else { return 2 }
        let perMapPage = UInt32(usableSize / 5) + 1
        var map = ((page - 2) / perMapPage) * perMapPage + 2
        if map == lockBytePage(pageSize: pageSize) { map += 1 }
        return map
    }

    /// Whether `page` is itself a pointer-map page of a database with this geometry.
    public static func isMapPage(_ page: UInt32, usableSize: Int, pageSize: Int) -> Bool {
        page >= 2 && mapPage(for: page, usableSize: usableSize, pageSize: pageSize) == page
    }

    /// The entry for `page`, read from its pointer-map page in `source`.
    ///
    /// - Throws: ``PageDecodingError`` `.invalidPointerMapEntry` for an unknown type byte
    ///   (0 means no entry was ever written), `.pageOutOfRange` when the map page is beyond
    ///   the database, `.cellOutOfPage` when `page` is itself a map page or page 1.
    public static func entry(for page: UInt32, in source: some PageSource, usableSize: Int) throws -> Entry {
        let map = mapPage(for: page, usableSize: usableSize, pageSize: source.pageSize)
        guard page > map else { throw PageDecodingError(.cellOutOfPage, pageNumber: page) }
        let offset = 5 * Int(page - map - 1)
        guard offset + 5 <= usableSize else { throw PageDecodingError(.cellOutOfPage, pageNumber: map, offset: offset) }
        let bytes = try source.page(map)
        guard let type = EntryType(rawValue: bytes[offset]) else {
            throw PageDecodingError(.invalidPointerMapEntry(bytes[offset]), pageNumber: map, offset: offset)
        }
        let parent = UInt32(bytes[offset + 1]) << 24 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 8 | UInt32(bytes[offset + 4])
        return Entry(type: type, parentPage: parent)
    }
}
