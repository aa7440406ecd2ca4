import CDCCore

/// SQLite's order of values under the BINARY collation, as index and WITHOUT ROWID b-trees
/// sort their keys: NULL first, then INTEGER and REAL compared by numeric value (an integer
/// against a real exactly, without rounding the integer), then TEXT by memcmp (a prefix
/// first), then BLOB by memcmp.
///
/// Source: SQLite, "Datatypes In SQLite" §4.1 Sort Order (https://www.sqlite.org/datatype3.html#sort_order)
/// and "Database File Format" §2.1 (records compare field by field).
public enum ValueOrder {
    /// SQLite's comparison: negative, zero or positive. Zero for values SQLite holds equal
    /// though not identical (1 and 1.0; 0.0 and −0.0).
    public static func compare(_ a: SQLiteValue, _ b: SQLiteValue) -> Int {
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case let (.integer(x), .integer(y)): return x < y ? -1 : (x > y ? 1 : 0)
        case let (.real(x), .real(y)): return x < y ? -1 : (x > y ? 1 : 0)
        case let (.integer(x), .real(y)): return compare(x, y)
        case let (.real(x), .integer(y)): return -compare(y, x)
        case (.integer, _), (.real, _): return -1
        case (_, .integer), (_, .real): return 1
        case let (.text(x), .text(y)): return compareBytes(x, y)
        case (.text, .blob): return -1
        case (.blob, .text): return 1
        case let (.blob(x), .blob(y)): return compareBytes(x, y)
        }
    }

    /// ``compare(_:_:)``, then, for values it holds equal, a fixed tie-break (INTEGER before
    /// REAL, then the bit pattern): a total order on distinct values, so sorting is
    /// deterministic.
    public static func totalOrder(_ a: SQLiteValue, _ b: SQLiteValue) -> Int {
        let c = compare(a, b)
        if c != 0 || a == b { return c }
        switch (a, b) {
        case (.integer, .real): return -1
        case (.real, .integer): return 1
        case let (.real(x), .real(y)): return x.bitPattern < y.bitPattern ? -1 : 1
        default: return 0 // safe: equal under compare and of one class means identical otherwise
        }
    }

    /// ``totalOrder(_:_:)`` field by field; a prefix sorts first.
    public static func totalOrder(_ a: [SQLiteValue], _ b: [SQLiteValue]) -> Int {
        for (x, y) in zip(a, b) {
            let c = totalOrder(x, y)
            if c != 0 { return c }
        }
        return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
    }

    /// An integer against a real, exactly (SQLite's sqlite3IntFloatCompare). NaN is never
    /// stored (SQLite writes NULL instead); it sorts below every integer here.
    static func compare(_ i: Int64, _ r: Double) -> Int {
        if r.isNaN { return 1 }
        if r < -9_223_372_036_854_775_808.0 { return 1 }
        if r >= 9_223_372_036_854_775_808.0 { return -1 }
        let whole = r.rounded(.towardZero)
        let w = Int64(whole) // safe: whole lies in Int64's range after the checks above
        if i != w { return i < w ? -1 : 1 }
        return r > whole ? -1 : (r < whole ? 1 : 0)
    }

    /// memcmp over the common length, then the shorter first.
    static func compareBytes(_ x: [UInt8], _ y: [UInt8]) -> Int {
        for (p, q) in zip(x, y) where p != q { return p < q ? -1 : 1 }
        return x.count < y.count ? -1 : (x.count > y.count ? 1 : 0)
    }
}
