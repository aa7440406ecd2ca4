/// Constants of SQLite's write-ahead log format.
///
/// Source: SQLite, "Database File Format" §4 The Write-Ahead Log
/// (https://www.sqlite.org/fileformat2.html#walformat).
public enum WALFormat {
    /// Bytes in the WAL header.
    public static let headerSize = 32
    /// Bytes in each frame header.
    public static let frameHeaderSize = 24
    /// The magic number for checksums computed on little-endian 32-bit words.
    public static let magicLittleEndian: UInt32 = 0x377F_0682
    /// The magic number for checksums computed on big-endian 32-bit words.
    public static let magicBigEndian: UInt32 = 0x377F_0683
    /// The only WAL format version SQLite writes.
    public static let formatVersion: UInt32 = 3_007_000
    /// The smallest page size in bytes (§1.3.2).
    public static let minimumPageSize = 512
    /// The largest page size in bytes (§1.3.2).
    public static let maximumPageSize = 65536

    /// Whether `size` is a valid page size in bytes: a power of two from 512 to 65536 (§1.3.2).
    public static func isValidPageSize(_ size: Int) -> Bool {
        size >= minimumPageSize && size <= maximumPageSize && size & (size - 1) == 0
    }
}
