#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A pull reader over one JSON text (RFC 8259): the caller asks for the next member, string
/// or number, and nothing is built that the caller does not ask for. The event decoder uses
/// it so that reading an event allocates little more than the event itself.
///
/// Byte offsets go into every ``JSONSyntaxError``. Strings are returned as bytes; the input
/// is validated as UTF-8 once, up front, so no string needs validating again.
struct JSONPullReader {
    let bytes: [UInt8]
    var position: Int

    /// - Throws: ``JSONSyntaxError`` when the input is not valid UTF-8.
    init(_ bytes: [UInt8], validatingUTF8: Bool = true) throws {
        self.bytes = bytes
        position = 0
        if validatingUTF8, let bad = UTF8Validation.firstInvalidOffset(in: bytes) {
            throw JSONSyntaxError(offset: bad, reason: "the line is not valid UTF-8")
        }
    }

    func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, reason: reason) }

    @inline(__always)
    mutating func skipWhitespace() {
        // Lines the agent writes have no whitespace: one comparison settles the usual case.
        if position < bytes.count, bytes[position] > 0x20 { return }
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed; `nil` at the end.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard peek() == byte else { throw error("expected \(what)") }
        position += 1
    }

    mutating func expectEnd() throws {
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected data after the value") }
    }

    /// Reads a member name inside an object: call with `first` true right after `{`.
    /// - Returns: the name, or `nil` at the closing `}` (consumed).
    mutating func nextMember(first: inout Bool) throws -> [UInt8]? {
        try nextMemberToken(first: &first).map(tokenBytes)
    }

    /// Advances to the next array element: `false` at the closing `]` (consumed).
    mutating func nextElement(first: inout Bool) throws -> Bool {
        guard let c = peek() else { throw error("unexpected end of input in an array") }
        if c == UInt8(ascii: "]") { position += 1; return false }
        if !first {
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or ']'") }
            position += 1
        }
        first = false
        return true
    }

    /// A string as met in the input: a range of the input when it has no escapes (nothing is
    /// copied), else its decoded bytes.
    enum Token {
        case range(Range<Int>)
        case decoded([UInt8])
    }

    /// Reads a string without copying it when it has no escapes.
    mutating func readStringToken() throws -> Token {
        try expect(UInt8(ascii: "\""), "a string")
        let start = position
        // The common string has no escape: find its end with a tight unchecked scan.
        let end: Int? = bytes.withUnsafeBufferPointer { buf in
            var i = start
            while i < buf.count {
                let c = buf[i]
                if c == UInt8(ascii: "\"") { return i }
                if c == UInt8(ascii: "\\") || c < 0x20 { return nil }
                i += 1
            }
            return nil
        }
        if let end {
            position = end + 1
            return .range(start..<end)
        }
        position = start - 1
        return .decoded(try readString())
    }

    /// Reads a member name as a token; as ``nextMember(first:)`` otherwise.
    mutating func nextMemberToken(first: inout Bool) throws -> Token? {
        guard let c = peek() else { throw error("unexpected end of input in an object") }
        if c == UInt8(ascii: "}") { position += 1; return nil }
        if !first {
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or '}'") }
            position += 1
        }
        first = false
        guard peek() == UInt8(ascii: "\"") else { throw error("expected a member name") }
        let name = try readStringToken()
        try expect(UInt8(ascii: ":"), "':'")
        return name
    }

    /// Whether a token spells `literal` exactly.
    func token(_ t: Token, equals literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        let p = literal.utf8Start
        switch t {
        case .range(let r):
            guard r.count == n else { return false }
            for i in 0..<n where bytes[r.lowerBound + i] != p[i] { return false }
            return true
        case .decoded(let d):
            guard d.count == n else { return false }
            for i in 0..<n where d[i] != p[i] { return false }
            return true
        }
    }

    /// Whether a token's bytes equal `other`.
    func token(_ t: Token, equals other: [UInt8]) -> Bool {
        switch t {
        case .range(let r): return bytesEqual(bytes, r, other)
        case .decoded(let d): return d == other
        }
    }

    /// A token's bytes (copied).
    func tokenBytes(_ t: Token) -> [UInt8] {
        switch t {
        case .range(let r): return Array(bytes[r])
        case .decoded(let d): return d
        }
    }

    /// Reads a string; the opening quote must be next.
    mutating func readString() throws -> [UInt8] {
        try expect(UInt8(ascii: "\""), "a string")
        let start = position
        // Fast path: no escapes, the bytes are the string.
        while position < bytes.count {
            let c = bytes[position]
            if c == UInt8(ascii: "\"") {
                position += 1
                return Array(bytes[start..<(position - 1)])
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("unescaped control character in a string") }
            position += 1
        }
        var out = Array(bytes[start..<position])
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let c = bytes[position]
            if c == UInt8(ascii: "\"") { position += 1; return out }
            if c < 0x20 { throw error("unescaped control character in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); position += 1; continue }
            position += 1
            guard position < bytes.count else { throw error("unterminated escape") }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate in \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                out.append(contentsOf: String(Character(u)).utf8)
            default:
                throw error("invalid escape")
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("incomplete \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            position += 1
        }
        return v
    }

    /// Reads a number token as written (RFC 8259 §6 grammar).
    /// - Returns: the token's range in ``bytes`` and whether it has a fraction or exponent.
    mutating func readNumber() throws -> (range: Range<Int>, isInteger: Bool) {
        skipWhitespace()
        let start = position
        var isInteger = true
        func digits() -> Int {
            let s = position
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") { position += 1 }
            return position - s
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw error("incomplete number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if digits() == 0 {
            throw error("expected a number")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard digits() > 0 else { throw error("expected a digit after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw error("expected a digit in the exponent") }
        }
        return (start..<position, isInteger)
    }

    /// Parses a signed 64-bit integer token without going through a string; `nil` on overflow.
    func int64(_ range: Range<Int>) -> Int64? {
        var i = range.lowerBound
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var magnitude: UInt64 = 0
        while i < range.upperBound {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(bytes[i] - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            magnitude = a
            i += 1
        }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return .min }
            return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// The token's text.
    func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// Reads one literal (`true`, `false`, `null`).
    mutating func readLiteral() throws -> JSONValue {
        guard let c = peek() else { throw error("unexpected end of input") }
        func match(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard bytes.count - position >= n else { return false }
            let p = word.utf8Start
            for i in 0..<n where bytes[position + i] != p[i] { return false }
            position += n
            return true
        }
        switch c {
        case UInt8(ascii: "t"): if match("true") { return .bool(true) }
        case UInt8(ascii: "f"): if match("false") { return .bool(false) }
        case UInt8(ascii: "n"): if match("null") { return .null }
        default: break
        }
        throw error("expected true, false or null")
    }

    /// Skips one value of any kind, checking its syntax, without copying anything.
    /// - Returns: the value's byte range.
    mutating func skipValue(depth: Int = 0) throws -> Range<Int> {
        guard depth < JSONParser.maximumDepth else { throw error("nesting deeper than \(JSONParser.maximumDepth)") }
        guard let c = peek() else { throw error("unexpected end of input") }
        let start = position
        switch c {
        case UInt8(ascii: "{"):
            position += 1
            var first = true
            while try nextMemberToken(first: &first) != nil { _ = try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            position += 1
            var first = true
            while try nextElement(first: &first) { _ = try skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            _ = try readStringToken()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try readNumber()
        default:
            _ = try readLiteral()
        }
        return start..<position
    }

    /// Whether the bytes in `range` equal `other` (memcmp).
    func bytes(in range: Range<Int>, equal other: [UInt8]) -> Bool { bytesEqual(bytes, range, other) }
}

/// Whether `line[range]` equals `other`, by memcmp.
func bytesEqual(_ line: [UInt8], _ range: Range<Int>, _ other: [UInt8]) -> Bool {
    guard range.count == other.count, range.upperBound <= line.count else { return false }
    return line.withUnsafeBufferPointer { a in
        other.withUnsafeBufferPointer { b in
            guard let pa = a.baseAddress, let pb = b.baseAddress else { return range.isEmpty }
            return memcmp(pa + range.lowerBound, pb, range.count) == 0
        }
    }
}
