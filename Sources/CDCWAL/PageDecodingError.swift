/// Why bytes of a database page, a b-tree or a record are not valid, and where.
///
/// Thrown by every decoder of the database file format (header, b-tree pages, cells,
/// overflow chains, freelist, pointer map, records). The location names the page (1-based
/// page number) and the byte offset inside that page when known; values are never printed
/// (they may be personal data, STYLE.md habit 3).
///
/// Source: SQLite, "Database File Format" §1 and §2 (https://www.sqlite.org/fileformat2.html).
public struct PageDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Equatable, Sendable {
        /// The first 16 bytes are not "SQLite format 3\0" (§1.3.1).
        case notADatabase
        /// The header's page size is not a power of two from 512 to 65536 (§1.3.2).
        case invalidPageSize(Int)
        /// The reserved bytes leave fewer than 480 usable bytes per page (§1.3.4).
        case invalidReservedBytes(Int)
        /// The text encoding is not UTF-8 (1); 2 and 3 are UTF-16 and unsupported (§1.3.13).
        case unsupportedTextEncoding(UInt32)
        /// The page number is 0 or beyond the database size in pages.
        case pageOutOfRange(databaseSizeInPages: UInt32)
        /// Neither the WAL nor the database file holds the page.
        case pageMissing
        /// The page's first header byte is not the b-tree page type expected (§1.6).
        case invalidPageType(UInt8)
        /// The page header and cell pointer array do not fit in the page (§1.6).
        case cellCountTooLarge(Int)
        /// A cell starts or ends outside the page's usable area (§1.6).
        case cellOutOfPage
        /// A varint runs past the end of the bytes that must hold it (§1.6).
        case truncatedVarint
        /// The payload size is larger than the database could hold.
        case payloadTooLarge(UInt64)
        /// The overflow chain ends (page 0) before the payload is complete (§1.7).
        case overflowChainTooShort
        /// The page was already visited in this walk: the b-tree or chain has a cycle.
        case cycle
        /// The b-tree is deeper than any valid one could be.
        case treeTooDeep(Int)
        /// The record header size is smaller than itself or larger than the payload (§2.1).
        case recordHeaderOutOfRange(headerSize: UInt64, payloadSize: Int)
        /// A serial type is 10 or 11, which SQLite reserves (§2.1).
        case reservedSerialType(UInt64)
        /// The record's values need more bytes than the payload has (§2.1).
        case recordBodyTruncated
        /// A freelist trunk page lists more leaves than fit, or the list is longer than the header says (§1.5).
        case freelistCorrupt
        /// A pointer-map entry has an unknown type byte (§1.8).
        case invalidPointerMapEntry(UInt8)
        /// A sqlite_schema row does not have the five columns of §2.6 with their types.
        case invalidSchemaRow
        /// The WAL and the database header disagree on the page size.
        case pageSizeMismatch(walPageSize: Int, databasePageSize: Int)
        /// Two cells of one b-tree hold the same key (a rowid, or a WITHOUT ROWID primary key).
        case duplicateKey
        /// A b-tree's keys are not in ascending order: a corrupt tree, or a WITHOUT ROWID
        /// primary key declared DESC or with a non-BINARY collation, which the streaming row
        /// diff cannot merge (§2.4; see ``TransactionDiff``).
        case keysOutOfOrder
        /// A WITHOUT ROWID record has fewer fields than its primary key has columns (§2.4).
        case keyFieldsMissing(expected: Int, found: Int)
    }

    /// What is wrong.
    public var kind: Kind
    /// The 1-based page number concerned, when known.
    public var pageNumber: UInt32?
    /// The byte offset inside that page, when known.
    public var offset: Int?

    /// Makes an error.
    public init(_ kind: Kind, pageNumber: UInt32? = nil, offset: Int? = nil) {
        self.kind = kind
        self.pageNumber = pageNumber
        self.offset = offset
    }

    /// One line naming the problem and its place.
    public var description: String {
        var where_ = ""
        if let p = pageNumber { where_ += " on page \(p)" }
        if let o = offset { where_ += " at byte \(o)" }
        return "invalid database page: \(kind)\(where_)"
    }
}
