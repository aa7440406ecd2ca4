import CDCCore
@testable import CDCWAL
import XCTest

/// SQLite's BINARY value order (datatype3.html §4.1) at its edges; the fixture without-rowid
/// checks the same order against SQLite's own ORDER BY.
final class ValueOrderTests: XCTestCase {
    func testClassesThenValues() {
        let sorted: [SQLiteValue] = [.null, .integer(-5), .real(-4.5), .integer(0), .real(0.5), .integer(1), .real(1e100),
                                     .text([]), .text([0x41]), .text([0x61]), .text([0x61, 0x00]), .blob([]), .blob([0x00])]
        for (i, a) in sorted.enumerated() {
            for (j, b) in sorted.enumerated() {
                XCTAssertEqual(ValueOrder.compare(a, b).signum(), (i < j ? -1 : (i > j ? 1 : 0)), "\(a) vs \(b)")
            }
        }
    }

    func testIntegersAgainstRealsAreExact() {
        // 2^53 + 1 is not a Double: converting the integer would call them equal.
        XCTAssertEqual(ValueOrder.compare(.integer(9_007_199_254_740_993), .real(9_007_199_254_740_992.0)), 1)
        XCTAssertEqual(ValueOrder.compare(.integer(Int64.max), .real(9_223_372_036_854_775_808.0)), -1)
        XCTAssertEqual(ValueOrder.compare(.integer(Int64.min), .real(-9_223_372_036_854_775_808.0)), 0)
        XCTAssertEqual(ValueOrder.compare(.integer(Int64.min), .real(-1e300)), 1)
        XCTAssertEqual(ValueOrder.compare(.integer(-1), .real(-1.5)), 1)
        XCTAssertEqual(ValueOrder.compare(.real(-0.5), .integer(0)), -1)
    }

    func testTotalOrderSeparatesValuesSQLiteCallsEqual() {
        XCTAssertEqual(ValueOrder.compare(.integer(1), .real(1.0)), 0)
        XCTAssertEqual(ValueOrder.totalOrder(.integer(1), .real(1.0)), -1)
        XCTAssertEqual(ValueOrder.totalOrder(.real(1.0), .integer(1)), 1)
        XCTAssertEqual(ValueOrder.compare(.real(-0.0), .real(0.0)), 0)
        XCTAssertNotEqual(ValueOrder.totalOrder(.real(-0.0), .real(0.0)), 0)
        XCTAssertEqual(ValueOrder.totalOrder([.text([0x61])], [.text([0x61]), .integer(1)]), -1, "a prefix first")
        XCTAssertTrue(RowKey.rowid(-1) < .rowid(2))
    }
}
