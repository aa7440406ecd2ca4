import CDCCore

/// How one key field of an index b-tree is ordered: its direction and collation.
///
/// A WITHOUT ROWID table's b-tree is ordered by its primary key's declared order, which may
/// be DESC and may use the NOCASE or RTRIM collation (the built-in ones besides BINARY). The
/// streaming diff merges two walks in that order, so it compares keys the same way.
/// Source: https://www.sqlite.org/datatype3.html#collation (built-in collating sequences),
/// https://www.sqlite.org/lang_createindex.html (DESC).
public struct KeyFieldOrder: Hashable, Sendable {
    /// A built-in collating sequence.
    public enum Collation: String, Hashable, Sendable {
        /// memcmp.
        case binary = "BINARY"
        /// memcmp after folding the 26 ASCII upper-case letters to lower case.
        case nocase = "NOCASE"
        /// memcmp ignoring trailing spaces.
        case rtrim = "RTRIM"
    }

    public var descending: Bool
    public var collation: Collation

    public init(descending: Bool = false, collation: Collation = .binary) {
        self.descending = descending
        self.collation = collation
    }

    /// SQLite's comparison of one field in this order: negative, zero or positive. Collations
    /// apply to text only; other values compare as ``ValueOrder/compare(_:_:)``.
    public func compare(_ a: SQLiteValue, _ b: SQLiteValue) -> Int {
        var c: Int
        if case .text(let x) = a, case .text(let y) = b, collation != .binary {
            c = Self.compareText(x, y, collation)
        } else {
            c = ValueOrder.compare(a, b)
        }
        if descending { c = -c }
        return c
    }

    /// Compares keys field by field in the given orders (BINARY ascending past their end).
    public static func compare(_ a: [SQLiteValue], _ b: [SQLiteValue], orders: [KeyFieldOrder]) -> Int {
        for (i, (x, y)) in zip(a, b).enumerated() {
            let c = i < orders.count ? orders[i].compare(x, y) : ValueOrder.compare(x, y)
            if c != 0 { return c }
        }
        return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
    }

    private static func compareText(_ x: [UInt8], _ y: [UInt8], _ collation: Collation) -> Int {
        var xs = x[...], ys = y[...]
        if collation == .rtrim {
            while xs.last == 0x20 { xs = xs.dropLast() }
            while ys.last == 0x20 { ys = ys.dropLast() }
        }
        func fold(_ c: UInt8) -> UInt8 { collation == .nocase && c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
        for (p, q) in zip(xs, ys) {
            let (fp, fq) = (fold(p), fold(q))
            if fp != fq { return fp < fq ? -1 : 1 }
        }
        return xs.count < ys.count ? -1 : (xs.count > ys.count ? 1 : 0)
    }
}
