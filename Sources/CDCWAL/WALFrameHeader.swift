/// The 24-byte header before each page in a WAL file.
///
/// Layout (big-endian u32): 0 page number, 4 for a commit frame the database size in pages
/// after the commit (0 for other frames), 8 salt-1, 12 salt-2, 16 checksum-1, 20 checksum-2
/// (cumulative, over frame header bytes 0–7 and the page data).
///
/// Source: SQLite, "Database File Format" §4.1 WAL File Format
/// (https://www.sqlite.org/fileformat2.html#walformat).
public struct WALFrameHeader: Hashable, Sendable {
    /// The 1-based database page this frame holds.
    public var pageNumber: UInt32
    /// The database size in pages after the commit, for a commit frame; 0 otherwise.
    public var commitSizeInPages: UInt32
    /// Must equal the WAL header's salt-1.
    public var salt1: UInt32
    /// Must equal the WAL header's salt-2.
    public var salt2: UInt32
    /// The cumulative checksum stored in the frame.
    public var checksum: WALChecksum

    /// Whether this frame ends a transaction (its commit-size field is not 0).
    public var isCommit: Bool { commitSizeInPages != 0 }

    /// Decodes a frame header; `nil` when fewer than 24 bytes are given.
    public static func decode(_ bytes: ArraySlice<UInt8>) -> WALFrameHeader? {
        var c = ByteCursor(bytes)
        guard let page = c.readUInt32(), let size = c.readUInt32(), let s1 = c.readUInt32(), let s2 = c.readUInt32(),
              let k1 = c.readUInt32(), let k2 = c.readUInt32() else { return nil }
        return WALFrameHeader(pageNumber: page, commitSizeInPages: size, salt1: s1, salt2: s2,
                              checksum: WALChecksum(first: k1, second: k2))
    }
}
