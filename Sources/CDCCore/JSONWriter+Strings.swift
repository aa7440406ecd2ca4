/// How a ``JSONWriter`` writes strings (RFC 8259 §7: quote, backslash and U+0000–U+001F
/// escaped, UTF-8 checked on the way), base64 payloads (RFC 4648 §4) and integers.
extension JSONWriter {
    /// Writes `bytes` as a base64 string (RFC 4648 §4, with padding, no line breaks): the
    /// payload of `$blob` and `$text`, encoded straight into the buffer.
    public mutating func base64String(_ bytes: UnsafeBufferPointer<UInt8>) {
        separate()
        let n = bytes.count
        let encodedCount = (n + 2) / 3 * 4
        store(atMost: encodedCount + 2) { to in
            let alphabet = Self.base64Alphabet.utf8Start
            to[0] = UInt8(ascii: "\"")
            var o = 1
            var i = 0
            while i + 3 <= n {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                to[o] = alphabet[Int(v >> 18)]
                to[o + 1] = alphabet[Int(v >> 12 & 0x3F)]
                to[o + 2] = alphabet[Int(v >> 6 & 0x3F)]
                to[o + 3] = alphabet[Int(v & 0x3F)]
                i += 3
                o += 4
            }
            if n - i == 1 {
                let v = UInt32(bytes[i]) << 16
                to[o] = alphabet[Int(v >> 18)]
                to[o + 1] = alphabet[Int(v >> 12 & 0x3F)]
                to[o + 2] = UInt8(ascii: "=")
                to[o + 3] = UInt8(ascii: "=")
                o += 4
            } else if n - i == 2 {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
                to[o] = alphabet[Int(v >> 18)]
                to[o + 1] = alphabet[Int(v >> 12 & 0x3F)]
                to[o + 2] = alphabet[Int(v >> 6 & 0x3F)]
                to[o + 3] = UInt8(ascii: "=")
                o += 4
            }
            to[o] = UInt8(ascii: "\"")
            return o + 1
        }
    }


    private static let base64Alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    private static let hexDigits: StaticString = "0123456789abcdef"
    private static let digitPairs: StaticString = """
        0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
        5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899
        """

    /// Stores the decimal form of `value` at `to` (at most 20 bytes) and returns its length.
    @inline(__always)
    static func storeDecimal(_ value: Int64, at to: UnsafeMutablePointer<UInt8>) -> Int {
        // The magnitude as UInt64: -Int64.min does not fit in an Int64.
        var magnitude = value.magnitude
        var length = value < 0 ? 1 : 0
        if value < 0 { to[0] = UInt8(ascii: "-") }
        var digits = 1
        var probe = magnitude
        while probe >= 10 { probe /= 10; digits += 1 }
        length += digits
        var end = length
        let pairs = digitPairs.utf8Start
        // Two digits a step, from the right.
        while magnitude >= 100 {
            let pair = Int(magnitude % 100) * 2
            magnitude /= 100
            to[end - 2] = pairs[pair]
            to[end - 1] = pairs[pair + 1]
            end -= 2
        }
        if magnitude >= 10 {
            let pair = Int(magnitude) * 2
            to[end - 2] = pairs[pair]
            to[end - 1] = pairs[pair + 1]
        } else {
            to[end - 1] = UInt8(ascii: "0") + UInt8(magnitude)
        }
        return length
    }

    mutating func appendString(_ value: String) {
        var value = value
        value.withUTF8 { appendQuoted($0, validating: false) }
    }

    /// The bytes a JSON string needs no escape for (and, when validating, that are ASCII):
    /// all eight bytes of `word` are at least 0x20, not `"` or `\`, and below 0x80.
    @inline(__always)
    static func isPlainASCII(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // A byte below 0x20 (exact for bytes below 0x80, which the high-bit test covers).
        let control = (word &- ones &* 0x20) & ~word
        // A byte equal to `"` or `\`: a zero byte after the XOR.
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasBackslash = (backslash &- ones) & ~backslash
        return (word | control | hasQuote | hasBackslash) & highs == 0
    }

    /// Writes `"…"` for `input`, escaped. With `validating`, checks that the bytes are
    /// well-formed UTF-8 on the way and returns `false` (with a partial string written) when
    /// they are not; without, copies non-ASCII bytes as they are.
    @discardableResult
    mutating func appendQuoted(_ input: UnsafeBufferPointer<UInt8>, validating: Bool) -> Bool {
        let n = input.count
        guard let source = input.baseAddress, n > 0 else {
            store(atMost: 2) { to in to[0] = UInt8(ascii: "\""); to[1] = UInt8(ascii: "\""); return 2 }
            return true
        }
        appendByte(UInt8(ascii: "\""))
        var i = 0
        var isValid = true
        // In chunks, so that room for the worst case (six bytes out per byte in) is reserved
        // per chunk and not for the whole value at once.
        let chunk = 4096
        while i < n, isValid {
            let chunkEnd = Swift.min(n, i + chunk)
            // +4: a multi-byte sequence may run up to three bytes past the chunk's end.
            store(atMost: (chunkEnd - i) * 6 + 4 * 6) { to in
                var o = 0
                while i < chunkEnd {
                    if i + 8 <= n {
                        let word = UnsafeRawPointer(source + i).loadUnaligned(as: UInt64.self)
                        if Self.isPlainASCII(word) {
                            UnsafeMutableRawPointer(to + o).storeBytes(of: word, as: UInt64.self)
                            i += 8
                            o += 8
                            continue
                        }
                    }
                    let byte = source[i]
                    if byte >= 0x80 {
                        let length = validating ? Self.sequenceLength(source, i, n) : 1
                        guard length > 0 else { isValid = false; return o }
                        (to + o).update(from: source + i, count: length)
                        i += length
                        o += length
                        continue
                    }
                    i += 1
                    switch byte {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                        to[o] = UInt8(ascii: "\\"); to[o + 1] = byte; o += 2
                    case 0x0A:
                        to[o] = UInt8(ascii: "\\"); to[o + 1] = UInt8(ascii: "n"); o += 2
                    case 0x0D:
                        to[o] = UInt8(ascii: "\\"); to[o + 1] = UInt8(ascii: "r"); o += 2
                    case 0x09:
                        to[o] = UInt8(ascii: "\\"); to[o + 1] = UInt8(ascii: "t"); o += 2
                    case 0..<0x20:
                        let hex = Self.hexDigits.utf8Start
                        to[o] = UInt8(ascii: "\\"); to[o + 1] = UInt8(ascii: "u")
                        to[o + 2] = UInt8(ascii: "0"); to[o + 3] = UInt8(ascii: "0")
                        to[o + 4] = hex[Int(byte >> 4)]; to[o + 5] = hex[Int(byte & 0xF)]
                        o += 6
                    default:
                        to[o] = byte; o += 1
                    }
                }
                return o
            }
        }
        guard isValid else { return false }
        appendByte(UInt8(ascii: "\""))
        return true
    }

    /// The length of the well-formed UTF-8 sequence that starts with the non-ASCII byte at
    /// `i`, or 0 when it is ill-formed (overlong, a surrogate, above U+10FFFF, truncated).
    /// Source: Unicode 15, §3.9, Table 3-7.
    @inline(__always)
    static func sequenceLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        func isContinuation(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
        let b0 = p[i]
        switch b0 {
        case 0xC2...0xDF:
            return isContinuation(1) ? 2 : 0
        case 0xE0...0xEF:
            guard isContinuation(1), isContinuation(2) else { return 0 }
            let b1 = p[i + 1]
            if b0 == 0xE0 && b1 < 0xA0 { return 0 }   // overlong
            if b0 == 0xED && b1 > 0x9F { return 0 }   // surrogates
            return 3
        case 0xF0...0xF4:
            guard isContinuation(1), isContinuation(2), isContinuation(3) else { return 0 }
            let b1 = p[i + 1]
            if b0 == 0xF0 && b1 < 0x90 { return 0 }   // overlong
            if b0 == 0xF4 && b1 > 0x8F { return 0 }   // above U+10FFFF
            return 4
        default:
            return 0
        }
    }
}
