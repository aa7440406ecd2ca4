/// The WAL's cumulative 64-bit checksum: two 32-bit sums, s0 and s1.
///
/// The input is read as 32-bit words in the byte order the WAL magic selects (big-endian for
/// 0x377f0683, little-endian for 0x377f0682), two words at a time:
/// `s0 += x[i] + s1; s1 += x[i+1] + s0`, with wrapping 32-bit arithmetic. The header
/// checksum covers header bytes 0–23 starting from (0, 0); each frame's checksum continues
/// from the previous frame's (the header's for frame 0) over the frame header's first 8
/// bytes and then the page data. The stored sums themselves are always big-endian.
///
/// Source: SQLite, "Database File Format" §4.2 Checksum Algorithm and §4.1
/// (https://www.sqlite.org/fileformat2.html#walcksm); wal.c's comments on walChecksumBytes.
public struct WALChecksum: Hashable, Sendable {
    /// The first sum (s0), stored first.
    public var first: UInt32
    /// The second sum (s1).
    public var second: UInt32

    /// Makes a checksum from its two sums.
    public init(first: UInt32, second: UInt32) {
        self.first = first
        self.second = second
    }

    /// The starting value of the header checksum.
    public static let zero = WALChecksum(first: 0, second: 0)

    /// This checksum continued over `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: a whole number of 8-byte pairs of words (24, 8 or a page size); a trailing
    ///     partial pair, which the format never produces, is ignored.
    ///   - isBigEndian: whether words are big-endian (the magic's low bit).
    /// - Complexity: O(n) in `bytes.count`.
    public func adding(_ bytes: ArraySlice<UInt8>, isBigEndian: Bool) -> WALChecksum {
        var s0 = first, s1 = second
        var i = bytes.startIndex
        let end = bytes.endIndex - 7
        while i < end {
            let w0: UInt32, w1: UInt32
            if isBigEndian {
                w0 = UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
                w1 = UInt32(bytes[i + 4]) << 24 | UInt32(bytes[i + 5]) << 16 | UInt32(bytes[i + 6]) << 8 | UInt32(bytes[i + 7])
            } else {
                w0 = UInt32(bytes[i + 3]) << 24 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i])
                w1 = UInt32(bytes[i + 7]) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 4])
            }
            s0 = s0 &+ w0 &+ s1
            s1 = s1 &+ w1 &+ s0
            i += 8
        }
        return WALChecksum(first: s0, second: s1)
    }
}
