import CDCCore
import CDCReconcile
import CDCSQLite
import XCTest

/// ``SQLiteOrdering`` must sort exactly as SQLite's `ORDER BY … COLLATE BINARY`, or the merge
/// of two SQLite-ordered streams miscounts; these tests ask SQLite itself.
final class SQLiteOrderingTests: XCTestCase {
    /// Mixed storage classes and edge values, in no particular order.
    static let values: [SQLiteValue] = [
        .string("b"), .integer(1), .real(1.0), .null, .blob([0x01]), .string(""), .blob([]),
        .integer(Int64.max), .integer(Int64.min), .real(9_223_372_036_854_775_807.0), .real(-9_223_372_036_854_775_808.0),
        .real(9.3e18), .real(-9.3e18), .integer(9_007_199_254_740_993), .real(9_007_199_254_740_992.0),
        .integer(9_007_199_254_740_992), .real(-0.0), .integer(0), .real(0.5), .real(-0.5), .integer(-1),
        .real(.infinity), .real(-.infinity), .real(.leastNonzeroMagnitude), .real(1e308), .real(1.5), .integer(2),
        .string("A"), .string("a"), .string("ab"), .string("a\u{0}b"), .string("é"), .string("e\u{301}"),
        .string("😀"), .string("\u{FFFD}"), .string("Z"), .text([0xFF, 0x00]), .string("1"),
        .blob([0x00]), .blob([0x00, 0x01]), .blob([0xFF]), .blob(Array("b".utf8)),
    ]

    func testSortsLikeSQLiteOrderBy() throws {
        let db = try Connection(path: ":memory:", mode: .create)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
        for (i, v) in Self.values.enumerated() {
            try db.execute("INSERT INTO t(id, v) VALUES (?, ?)", [.integer(Int64(i)), v])
        }
        // SQLite's order, ties broken by insertion index so the sequence is fully determined.
        let bySQLite = try db.query("SELECT id FROM t ORDER BY v COLLATE BINARY, id").map { row -> Int in
            guard case .integer(let i) = row[0] else { return -1 }
            return Int(i)
        }
        let bySwift = Self.values.indices.sorted { a, b in
            let c = SQLiteOrdering.compare(Self.values[a], Self.values[b])
            return c != 0 ? c < 0 : a < b
        }
        XCTAssertEqual(bySwift, bySQLite, "Swift order differs from SQLite's ORDER BY")

        // Every pair agrees with SQLite's own comparison operators, too.
        for (i, a) in Self.values.enumerated() {
            for (j, b) in Self.values.enumerated() {
                let row = try db.query("SELECT x.v < y.v, x.v = y.v, x.v IS y.v FROM t x, t y WHERE x.id = ? AND y.id = ?",
                                       [.integer(Int64(i)), .integer(Int64(j))])[0]
                let c = SQLiteOrdering.compare(a, b)
                if a.isNull || b.isNull {
                    XCTAssertEqual(row[2] == .integer(1), c == 0, "IS for \(i) \(j)")
                } else {
                    XCTAssertEqual(row[0] == .integer(1), c < 0, "< for pair \(i), \(j)")
                    XCTAssertEqual(row[1] == .integer(1), c == 0, "= for pair \(i), \(j)")
                }
            }
        }
    }

    func testCompositeKeysSortLikeSQLite() throws {
        let db = try Connection(path: ":memory:", mode: .create)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)")
        let firsts: [SQLiteValue] = [.integer(1), .real(1.0), .string("1"), .null, .blob([1])]
        let seconds: [SQLiteValue] = [.string("x"), .integer(-3), .real(2.5), .string("X"), .null]
        var keys: [[SQLiteValue]] = []
        for a in firsts { for b in seconds { keys.append([a, b]) } }
        for (i, k) in keys.enumerated() {
            try db.execute("INSERT INTO t(id, a, b) VALUES (?, ?, ?)", [.integer(Int64(i))] + k)
        }
        let bySQLite = try db.query("SELECT id FROM t ORDER BY a COLLATE BINARY, b COLLATE BINARY, id").map { row -> Int in
            guard case .integer(let i) = row[0] else { return -1 }
            return Int(i)
        }
        let bySwift = keys.indices.sorted { x, y in
            let c = SQLiteOrdering.compare(keys: keys[x], keys[y])
            return c != 0 ? c < 0 : x < y
        }
        XCTAssertEqual(bySwift, bySQLite)
    }

    func testIntegerAndRealCompareExactlyBeyondTwoToThe53() {
        // 2^53 + 1 is not a double; converting it would round to 2^53 and call them equal.
        XCTAssertGreaterThan(SQLiteOrdering.compare(.integer(9_007_199_254_740_993), .real(9_007_199_254_740_992.0)), 0)
        XCTAssertEqual(SQLiteOrdering.compare(.integer(9_007_199_254_740_992), .real(9_007_199_254_740_992.0)), 0)
        XCTAssertLessThan(SQLiteOrdering.compare(.integer(Int64.max), .real(9_223_372_036_854_775_808.0)), 0)
        XCTAssertEqual(SQLiteOrdering.compare(.real(-0.0), .real(0.0)), 0)
        XCTAssertEqual(SQLiteOrdering.compare(.integer(1), .real(1.0)), 0)
        XCTAssertNotEqual(SQLiteValue.integer(1), SQLiteValue.real(1.0), "ordering-equal is not value-equal")
    }
}
