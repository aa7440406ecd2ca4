/// SQLite's variable-length integer: 1 to 9 bytes, big-endian, Huffman-like.
///
/// The first eight bytes carry 7 bits each, continuing while the high bit is set; a ninth
/// byte, when reached, carries all 8 of its bits. So a varint always ends by its ninth byte:
/// there is no 10-byte varint in the format, and no input can make ``decode(_:at:)`` read a
/// tenth byte. Values are 64-bit; two's complement gives negative rowids.
///
/// Source: SQLite, "Database File Format" §1.6 B-tree Pages, the paragraph defining
/// "varint" (https://www.sqlite.org/fileformat2.html#varint).
public enum Varint {
    /// The most bytes one varint occupies.
    public static let maximumLength = 9

    /// Decodes the varint starting at `index`.
    ///
    /// - Parameters:
    ///   - bytes: the bytes to read.
    ///   - index: an index into `bytes`.
    /// - Returns: the value and its length in bytes (1...9), or `nil` when `bytes` ends
    ///   before the varint does (or `index` is outside `bytes`).
    public static func decode(_ bytes: ArraySlice<UInt8>, at index: Int) -> (value: UInt64, length: Int)? {
        guard index >= bytes.startIndex else { return nil }
        var value: UInt64 = 0
        var i = index
        for n in 0..<maximumLength {
            guard i < bytes.endIndex else { return nil }
            let byte = bytes[i]
            i += 1
            if n == maximumLength - 1 {
                return ((value << 8) | UInt64(byte), maximumLength)
            }
            value = (value << 7) | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { return (value, n + 1) }
        }
        return nil // safe: the loop returns on its ninth byte at the latest
    }

    /// Encodes `value` as SQLite does (shortest form). Used by tests and fixture builders.
    ///
    /// - Returns: 1 to 9 bytes.
    public static func encode(_ value: UInt64) -> [UInt8] {
        if value & (UInt64(0xFF) << 56) != 0 {
            // Nine bytes: 8 groups of 7 bits, then the low 8 bits whole.
            var out = [UInt8](repeating: 0, count: 9)
            out[8] = UInt8(truncatingIfNeeded: value)
            var v = value >> 8
            for i in stride(from: 7, through: 0, by: -1) {
                out[i] = UInt8(truncatingIfNeeded: v & 0x7F) | 0x80
                v >>= 7
            }
            return out
        }
        var groups: [UInt8] = []
        var v = value
        repeat {
            groups.append(UInt8(truncatingIfNeeded: v & 0x7F))
            v >>= 7
        } while v != 0
        groups.reverse()
        for i in 0..<(groups.count - 1) { groups[i] |= 0x80 }
        return groups
    }
}
