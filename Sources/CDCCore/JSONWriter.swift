/// Appends JSON text to a byte buffer with a fixed field order, so that equal events always
/// serialise to equal bytes (RFC 8259).
///
/// Strings must be valid UTF-8; they are written raw except for the characters RFC 8259 §7
/// requires escaped (quote, backslash, U+0000–U+001F).
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    public init(reservingCapacity capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    public mutating func endObject() { needsComma.removeLast(); bytes.append(UInt8(ascii: "}")) }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    public mutating func endArray() { needsComma.removeLast(); bytes.append(UInt8(ascii: "]")) }

    /// Writes `"name":`; the next value written is the field's value.
    public mutating func key(_ name: String) {
        separate()
        appendString(name.utf8)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    /// Writes `"name":` for a name the caller knows needs no escaping (plain ASCII letters,
    /// digits and `_`: the event format's own member names), without examining it.
    public mutating func key(ascii name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    /// Writes a member name already encoded as `"name":` (``memberToken(_:)``); encoders
    /// keep them per schema instead of escaping every column name for every event.
    public mutating func key(token: [UInt8]) {
        separate()
        bytes.append(contentsOf: token)
        needsComma[needsComma.count - 1] = false
    }

    /// The bytes `"name":` for ``key(token:)``.
    public static func memberToken(_ name: String) -> [UInt8] {
        var w = JSONWriter()
        w.appendString(name.utf8)
        w.bytes.append(UInt8(ascii: ":"))
        return w.bytes
    }

    public mutating func string(_ value: String) { separate(); appendString(value.utf8) }
    /// Writes a string from bytes that the caller has checked are valid UTF-8. Runs of bytes
    /// that need no escape are copied whole (most text has none).
    public mutating func string(utf8 value: [UInt8]) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        value.withUnsafeBufferPointer { buffer in
            var start = 0
            for (i, byte) in buffer.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<i])) }
                appendEscaped(byte)
                start = i + 1
            }
            if start < buffer.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// One byte of a JSON string, escaped when RFC 8259 §7 requires it.
    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
        case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
        case 0..<0x20:
            bytes.append(contentsOf: "\\u00".utf8)
            bytes.append(Self.hex[Int(byte >> 4)])
            bytes.append(Self.hex[Int(byte & 0xF)])
        default: bytes.append(byte)
        }
    }
    /// Writes an integer's decimal digits straight into the buffer (no String in between).
    public mutating func integer(_ value: Int64) {
        separate()
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // The magnitude as UInt64: -Int64.min does not fit in an Int64.
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while magnitude > 0 {
                raw[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            bytes.append(contentsOf: raw[(24 - count)...])
        }
    }
    public mutating func integer(_ value: Int) { integer(Int64(value)) }
    public mutating func bool(_ value: Bool) { separate(); bytes.append(contentsOf: (value ? "true" : "false").utf8) }
    public mutating func null() { separate(); bytes.append(contentsOf: "null".utf8) }
    /// Writes a number token verbatim (the caller guarantees it is valid JSON).
    public mutating func rawNumber(_ token: String) { separate(); bytes.append(contentsOf: token.utf8) }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends pre-encoded JSON (for example a cached schema object) as the next value.
    public mutating func raw(_ json: [UInt8]) { separate(); bytes.append(contentsOf: json) }

    private mutating func appendString<S: Sequence>(_ utf8: S) where S.Element == UInt8 {
        bytes.append(UInt8(ascii: "\""))
        for byte in utf8 { appendEscaped(byte) }
        bytes.append(UInt8(ascii: "\""))
    }
}
