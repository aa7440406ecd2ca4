/// One value as SQLite stores it: exactly one of its five storage classes.
///
/// Text is kept as the bytes SQLite returned, not as a Swift `String`, because `String`
/// equality follows Unicode canonical equivalence and decoding repairs invalid UTF-8; both
/// would break promise 4 of DESIGN.md (text byte-exact). Reals compare by bit pattern, so
/// `-0.0` differs from `0.0` and a NaN equals itself.
///
/// Source: SQLite, "Datatypes In SQLite", §2 Storage Classes and Datatypes
/// (https://www.sqlite.org/datatype3.html).
public enum SQLiteValue: Sendable {
    /// The SQL NULL.
    case null
    /// A signed 64-bit integer.
    case integer(Int64)
    /// An IEEE 754 binary64 value, kept bit-exact.
    case real(Double)
    /// Text as its stored bytes (UTF-8 for every database this project captures; invalid
    /// sequences are kept as they are).
    case text([UInt8])
    /// A blob, byte-exact.
    case blob([UInt8])

    /// Makes a text value from a Swift string (its UTF-8 bytes).
    public static func string(_ string: String) -> SQLiteValue {
        .text(Array(string.utf8))
    }

    /// The storage class name as SQLite's `typeof()` reports it.
    public var storageClass: StorageClass {
        switch self {
        case .null: return .null
        case .integer: return .integer
        case .real: return .real
        case .text: return .text
        case .blob: return .blob
        }
    }

    /// The text as a Swift string when the value is text holding valid UTF-8.
    public var stringValue: String? {
        guard case .text(let bytes) = self else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Whether the value is the SQL NULL.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// SQLite's five storage classes, named as `typeof()` names them.
public enum StorageClass: String, Sendable, CaseIterable {
    case null, integer, real, text, blob
}

extension SQLiteValue: Hashable {
    /// Exact equality: same storage class and same bits (reals by bit pattern).
    public static func == (lhs: SQLiteValue, rhs: SQLiteValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.integer(a), .integer(b)): return a == b
        case let (.real(a), .real(b)): return a.bitPattern == b.bitPattern
        case let (.text(a), .text(b)): return a == b
        case let (.blob(a), .blob(b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .integer(let v): hasher.combine(1); hasher.combine(v)
        case .real(let v): hasher.combine(2); hasher.combine(v.bitPattern)
        case .text(let v): hasher.combine(3); hasher.combine(v)
        case .blob(let v): hasher.combine(4); hasher.combine(v)
        }
    }
}

extension SQLiteValue: CustomStringConvertible {
    /// A short description for logs that never prints the value itself (it may be personal
    /// data): only the storage class and, for text and blobs, the length in bytes.
    public var description: String {
        switch self {
        case .null: return "NULL"
        case .integer: return "integer"
        case .real: return "real"
        case .text(let b): return "text(\(b.count) bytes)"
        case .blob(let b): return "blob(\(b.count) bytes)"
        }
    }
}

extension Array where Element == SQLiteValue {
    /// Roughly how many bytes the values take in memory: text and blob bytes, 8 for each other
    /// value. Capture uses it to bound a batch by memory as well as by count.
    public var approximateByteCount: Int {
        var n = 0
        for v in self {
            switch v {
            case .text(let b), .blob(let b): n += b.count + 16
            default: n += 16
            }
        }
        return n
    }
}
