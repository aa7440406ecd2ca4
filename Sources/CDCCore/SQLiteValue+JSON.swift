/// The JSON form of a value (docs/events.md, "Values"):
///
/// | storage class | JSON |
/// |---|---|
/// | NULL | `null` |
/// | INTEGER | a number without fraction or exponent: `-9223372036854775808` |
/// | REAL | the shortest round-trip decimal, always with `.` or `e`: `1.0`, `-0.0`, `5e-324`; infinities as `{"$real":"inf"}` / `{"$real":"-inf"}` |
/// | TEXT | a string (valid UTF-8), or `{"$text":"<base64>"}` when the bytes are not valid UTF-8 |
/// | BLOB | `{"$blob":"<base64>"}` |
extension SQLiteValue {
    /// Writes the value's JSON form.
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .null:
            writer.null()
        case .integer(let v):
            writer.integer(v)
        case .real(let v):
            if v.isFinite {
                // Swift's description is the shortest string that round-trips, and keeps
                // ".0" for integral values, so the token always reads back as a real. (Up to
                // 15 characters it is a small string: no allocation.)
                writer.rawNumber(v.description)
            } else {
                writer.beginObject()
                writer.key(ascii: "$real")
                writer.string(v.isNaN ? "nan" : (v < 0 ? "-inf" : "inf"))
                writer.endObject()
            }
        case .text(let bytes):
            // One pass validates and escapes; only ill-formed text is written again, tagged.
            let written = bytes.withUnsafeBufferPointer { writer.string(validatingUTF8: $0) }
            if !written {
                writer.beginObject()
                writer.key(ascii: "$text")
                bytes.withUnsafeBufferPointer { writer.base64String($0) }
                writer.endObject()
            }
        case .blob(let bytes):
            writer.beginObject()
            writer.key(ascii: "$blob")
            bytes.withUnsafeBufferPointer { writer.base64String($0) }
            writer.endObject()
        }
    }

    /// Reads a value from its JSON form.
    /// - Throws: a reason string when the JSON is not a value of the spec.
    public init(json: JSONValue) throws {
        switch json {
        case .null:
            self = .null
        case .bool:
            throw ValueDecodingError("booleans are not SQLite values; use 0 or 1")
        case .number(let token):
            if token.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                guard let d = Double(token), d.isFinite else { throw ValueDecodingError("real \(token) is out of range (infinities are written {\"$real\":\"inf\"})") }
                self = .real(d)
            } else {
                guard let i = Int64(token) else { throw ValueDecodingError("integer \(token) does not fit in 64 bits") }
                self = .integer(i)
            }
        case .string(let s):
            self = .text(Array(s.utf8))
        case .object(let members):
            guard members.count == 1, case .string(let payload) = members[0].1 else {
                throw ValueDecodingError("a tagged value must be an object with one string member")
            }
            switch members[0].0 {
            case "$blob":
                guard let b = Base64.decode(payload) else { throw ValueDecodingError("$blob is not valid base64") }
                self = .blob(b)
            case "$text":
                guard let b = Base64.decode(payload) else { throw ValueDecodingError("$text is not valid base64") }
                self = .text(b)
            case "$real":
                switch payload {
                case "inf": self = .real(.infinity)
                case "-inf": self = .real(-.infinity)
                case "nan": self = .real(.nan)
                default: throw ValueDecodingError("$real must be inf, -inf or nan")
                }
            default:
                throw ValueDecodingError("unknown value tag \(members[0].0)")
            }
        case .array:
            throw ValueDecodingError("arrays are not SQLite values")
        }
    }
}

/// Why a JSON value is not an SQLite value of the event spec.
public struct ValueDecodingError: Error, Hashable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
