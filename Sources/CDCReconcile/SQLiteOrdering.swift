import CDCCore

/// The order in which SQLite's `ORDER BY x COLLATE BINARY` returns values, as a Swift
/// comparison, so two streams sorted by SQLite can be merged in Swift.
///
/// The rules (SQLite, "Datatypes In SQLite" §4.1, Sort Order,
/// https://www.sqlite.org/datatype3.html#sort_order):
/// - storage classes rank NULL < INTEGER/REAL < TEXT < BLOB;
/// - integers and reals compare numerically and exactly (an integer is never rounded to a
///   double: `2^53 + 1` sorts after the real `2^53`), so `1` and `1.0` compare equal, and
///   `-0.0` equals `0.0`;
/// - text under the BINARY collation and blobs compare with `memcmp` over the shorter length,
///   then the shorter sorts first; this is byte-wise lexicographic order.
///
/// Text order is byte order of the database's text encoding. For UTF-8 databases (every
/// database this project captures) that is the byte order of ``SQLiteValue/text(_:)``; a
/// UTF-16 database sorts some characters differently, which the merge detects and reports
/// (``ReplicaCheckError/keysOutOfOrder(table:database:)``) instead of miscounting.
public enum SQLiteOrdering {
    /// Compares two values as SQLite's ORDER BY with the BINARY collation does.
    /// - Returns: a negative number when `a` sorts first, 0 when SQLite considers them equal
    ///   (which does not mean ``SQLiteValue`` equality: `1` and `1.0` compare 0), a positive
    ///   number when `b` sorts first.
    /// - Complexity: O(n) in the length of text and blob values.
    public static func compare(_ a: SQLiteValue, _ b: SQLiteValue) -> Int {
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb ? -1 : 1 }
        switch (a, b) {
        case let (.integer(x), .integer(y)):
            return x == y ? 0 : (x < y ? -1 : 1)
        case let (.integer(x), .real(y)):
            return compare(integer: x, real: y)
        case let (.real(x), .integer(y)):
            return -compare(integer: y, real: x)
        case let (.real(x), .real(y)):
            return compare(real: x, real: y)
        case let (.text(x), .text(y)), let (.blob(x), .blob(y)):
            return compare(bytes: x, bytes: y)
        default:
            return 0 // both NULL
        }
    }

    /// Compares two keys column by column, as `ORDER BY k1, k2, …` (each BINARY) does.
    /// - Returns: as ``compare(_:_:)``; a shorter key that is a prefix of a longer one sorts
    ///   first (keys of one table always have the same length).
    /// - Complexity: O(total length of the key values).
    public static func compare(keys a: [SQLiteValue], _ b: [SQLiteValue]) -> Int {
        for (x, y) in zip(a, b) {
            let c = compare(x, y)
            if c != 0 { return c }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    private static func rank(_ v: SQLiteValue) -> Int {
        switch v {
        case .null: return 0
        case .integer, .real: return 1
        case .text: return 2
        case .blob: return 3
        }
    }

    /// Reals in numeric order. SQLite never stores a NaN (it becomes NULL); a NaN given here
    /// sorts before every other real so that the order stays total.
    private static func compare(real x: Double, real y: Double) -> Int {
        if x.isNaN || y.isNaN { return x.isNaN == y.isNaN ? 0 : (x.isNaN ? -1 : 1) }
        return x == y ? 0 : (x < y ? -1 : 1)
    }

    /// Compares an integer with a real exactly, as `sqlite3IntFloatCompare` does: the
    /// integer is never converted to a double (which would round beyond 2^53).
    static func compare(integer i: Int64, real r: Double) -> Int {
        if r.isNaN { return 1 }
        if r >= 9223372036854775808.0 { return -1 } // 2^63: above every Int64
        if r < -9223372036854775808.0 { return 1 }  // below Int64.min
        let floor = r.rounded(.down)                  // exact: |r| < 2^63 here
        let floorInt = Int64(floor)
        if i != floorInt { return i < floorInt ? -1 : 1 }
        return floor == r ? 0 : -1                    // r has a fraction: i < r
    }

    /// `memcmp` over the common length, then the shorter first.
    private static func compare(bytes x: [UInt8], bytes y: [UInt8]) -> Int {
        let n = min(x.count, y.count)
        var i = 0
        while i < n {
            let a = x[i], b = y[i]
            if a != b { return a < b ? -1 : 1 }
            i += 1
        }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }
}
