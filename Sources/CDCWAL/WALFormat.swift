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
}
