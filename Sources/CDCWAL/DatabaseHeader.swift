/// The 100-byte header at the start of a database file (page 1).
///
/// Only UTF-8 databases are supported (text is captured byte-exact); UTF-16 encodings are a
/// typed error. Source: SQLite, "Database File Format" §1.3 The Database Header
/// (https://www.sqlite.org/fileformat2.html#the_database_header).
public struct DatabaseHeader: Hashable, Sendable {
    /// Bytes in the header.
    public static let size = 100
    /// The 16 bytes every database starts with: "SQLite format 3" and a NUL.
    public static let magic: [UInt8] = Array("SQLite format 3".utf8) + [0]

    /// Offset 16: the page size in bytes (the stored value 1 means 65536, §1.3.2).
    public var pageSize: Int
    /// Offset 18: 1 for rollback journal, 2 for WAL.
    public var writeVersion: UInt8
    /// Offset 19: 1 for rollback journal, 2 for WAL.
    public var readVersion: UInt8
    /// Offset 20: bytes reserved at the end of every page (§1.3.4).
    public var reservedBytesPerPage: Int
    /// Offset 24: the file change counter.
    public var fileChangeCounter: UInt32
    /// Offset 28: the in-header database size in pages (trust it only when ``isDatabaseSizeValid``).
    public var databaseSizeInPages: UInt32
    /// Offset 32: the first freelist trunk page, 0 when the freelist is empty (§1.5).
    public var firstFreelistTrunkPage: UInt32
    /// Offset 36: the total number of freelist pages (trunks and leaves).
    public var freelistPageCount: UInt32
    /// Offset 40: the schema cookie; grows on every schema change.
    public var schemaCookie: UInt32
    /// Offset 44: the schema format number (1 to 4).
    public var schemaFormat: UInt32
    /// Offset 52: the largest root b-tree page in auto-vacuum or incremental-vacuum mode, else 0.
    public var largestRootPage: UInt32
    /// Offset 56: the text encoding (1 UTF-8; 2 UTF-16le and 3 UTF-16be are rejected).
    public var textEncoding: UInt32
    /// Offset 60: the user version.
    public var userVersion: UInt32
    /// Offset 64: non-zero for incremental vacuum mode.
    public var incrementalVacuum: UInt32
    /// Offset 68: the application id.
    public var applicationID: UInt32
    /// Offset 92: the change counter value for which ``databaseSizeInPages`` is valid.
    public var versionValidFor: UInt32
    /// Offset 96: the SQLITE_VERSION_NUMBER of the library that last wrote the file.
    public var sqliteVersionNumber: UInt32

    /// Bytes per page usable by b-tree content: page size minus reserved bytes (§1.3.4).
    public var usableSize: Int { pageSize - reservedBytesPerPage }
    /// Whether the database has pointer-map pages (auto_vacuum FULL or INCREMENTAL, §1.8).
    public var isAutoVacuum: Bool { largestRootPage != 0 }
    /// Whether auto-vacuum is incremental rather than full.
    public var isIncrementalVacuum: Bool { isAutoVacuum && incrementalVacuum != 0 }
    /// Whether the in-header size can be trusted: non-zero and written by the same change (§1.3.7).
    public var isDatabaseSizeValid: Bool { databaseSizeInPages != 0 && fileChangeCounter == versionValidFor }

    /// Decodes the header from the start of page 1.
    ///
    /// - Returns: `nil` when fewer than 100 bytes are given.
    /// - Throws: ``PageDecodingError`` (page 1) with kind `.notADatabase`,
    ///   `.invalidPageSize`, `.invalidReservedBytes` or `.unsupportedTextEncoding`.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> DatabaseHeader? {
        guard bytes.count >= size else { return nil }
        let s = bytes.startIndex
        guard Array(bytes[s..<(s + 16)]) == magic else { throw PageDecodingError(.notADatabase, pageNumber: 1, offset: 0) }
        var c = ByteCursor(bytes)
        func u32(_ offset: Int) -> UInt32 {
            c.seek(to: s + offset)
            return c.readUInt32() ?? 0 // safe: offset + 4 <= 100 <= bytes.count
        }
        c.seek(to: s + 16)
        let rawPageSize = Int(c.readUInt16() ?? 0)
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        guard WALFormat.isValidPageSize(pageSize) else {
            throw PageDecodingError(.invalidPageSize(rawPageSize), pageNumber: 1, offset: 16)
        }
        let reserved = Int(bytes[s + 20])
        guard pageSize - reserved >= 480 else {
            throw PageDecodingError(.invalidReservedBytes(reserved), pageNumber: 1, offset: 20)
        }
        let encoding = u32(56)
        guard encoding == 1 || encoding == 0 else { // 0: a brand-new database not yet written
            throw PageDecodingError(.unsupportedTextEncoding(encoding), pageNumber: 1, offset: 56)
        }
        return DatabaseHeader(
            pageSize: pageSize, writeVersion: bytes[s + 18], readVersion: bytes[s + 19], reservedBytesPerPage: reserved,
            fileChangeCounter: u32(24), databaseSizeInPages: u32(28), firstFreelistTrunkPage: u32(32),
            freelistPageCount: u32(36), schemaCookie: u32(40), schemaFormat: u32(44), largestRootPage: u32(52),
            textEncoding: encoding, userVersion: u32(60), incrementalVacuum: u32(64), applicationID: u32(68),
            versionValidFor: u32(92), sqliteVersionNumber: u32(96))
    }
}
