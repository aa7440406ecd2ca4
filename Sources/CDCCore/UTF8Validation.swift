/// UTF-8 validation without building a `String` (Unicode 15, §3.9, Table 3-7: well-formed
/// byte sequences; overlong forms, surrogates and values above U+10FFFF are ill-formed).
public enum UTF8Validation {
    /// The offset of the first byte that starts an ill-formed sequence, or `nil` when all of
    /// `bytes` is well-formed UTF-8.
    /// - Complexity: O(n), eight ASCII bytes at a time.
    public static func firstInvalidOffset(in bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress else { return nil }
            let n = buffer.count
            var i = 0
            while i < n {
                // ASCII fast path: eight bytes with no high bit.
                if i + 8 <= n {
                    let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
                }
                let b0 = buffer[i]
                if b0 < 0x80 { i += 1; continue }
                func cont(_ k: Int) -> UInt8? { i + k < n && buffer[i + k] & 0xC0 == 0x80 ? buffer[i + k] : nil }
                switch b0 {
                case 0xC2...0xDF:
                    guard cont(1) != nil else { return i }
                    i += 2
                case 0xE0...0xEF:
                    guard let b1 = cont(1), cont(2) != nil else { return i }
                    if b0 == 0xE0 && b1 < 0xA0 { return i }   // overlong
                    if b0 == 0xED && b1 > 0x9F { return i }   // surrogates
                    i += 3
                case 0xF0...0xF4:
                    guard let b1 = cont(1), cont(2) != nil, cont(3) != nil else { return i }
                    if b0 == 0xF0 && b1 < 0x90 { return i }   // overlong
                    if b0 == 0xF4 && b1 > 0x8F { return i }   // above U+10FFFF
                    i += 4
                default:
                    return i
                }
            }
            return nil
        }
    }

    /// Whether `bytes` is well-formed UTF-8.
    public static func isValid(_ bytes: [UInt8]) -> Bool { firstInvalidOffset(in: bytes) == nil }
}
