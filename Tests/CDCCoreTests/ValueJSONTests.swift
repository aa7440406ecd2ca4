import CDCCore
import XCTest

/// Each expected token here is written from docs/events.md ("Values"), not from our output.
final class ValueJSONTests: XCTestCase {
    private func json(_ v: SQLiteValue) -> String {
        var w = JSONWriter()
        v.write(to: &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    private func roundTrip(_ v: SQLiteValue, file: StaticString = #filePath, line: UInt = #line) throws {
        let back = try SQLiteValue(json: try JSONParser.parse(json(v)))
        XCTAssertEqual(back, v, "round trip of \(json(v))", file: file, line: line)
        XCTAssertEqual(back.storageClass, v.storageClass, file: file, line: line)
    }

    func testIntegersAreExactOverTheWhole64BitRange() throws {
        XCTAssertEqual(json(.integer(.min)), "-9223372036854775808")
        XCTAssertEqual(json(.integer(.max)), "9223372036854775807")
        XCTAssertEqual(json(.integer(9_007_199_254_740_993)), "9007199254740993")
        XCTAssertEqual(json(.integer(0)), "0")
        for v in [Int64.min, .max, 9_007_199_254_740_993, -9_007_199_254_740_993, 0, -1] {
            try roundTrip(.integer(v))
        }
    }

    func testRealsUseTheShortestRoundTripFormAndAlwaysLookReal() throws {
        XCTAssertEqual(json(.real(1.0)), "1.0")
        XCTAssertEqual(json(.real(-0.0)), "-0.0")
        XCTAssertEqual(json(.real(0.1)), "0.1")
        XCTAssertEqual(json(.real(1e308)), "1e+308")
        XCTAssertEqual(json(.real(.leastNonzeroMagnitude)), "5e-324")
        XCTAssertEqual(json(.real(.infinity)), #"{"$real":"inf"}"#)
        XCTAssertEqual(json(.real(-.infinity)), #"{"$real":"-inf"}"#)
        for v in [1.0, -0.0, 0.0, 0.1, 1e308, .leastNonzeroMagnitude, -1.7976931348623157e308, 2.2250738585072014e-308, 123456789.125, .pi, .infinity, -.infinity] {
            try roundTrip(.real(v))
        }
    }

    func testNegativeZeroIsNotZero() throws {
        let back = try SQLiteValue(json: try JSONParser.parse("-0.0"))
        guard case .real(let d) = back else { return XCTFail("not a real: \(back)") }
        XCTAssertEqual(d.sign, .minus)
        XCTAssertNotEqual(SQLiteValue.real(-0.0), .real(0.0))
    }

    func testIntegerRealAndTextOfOneAreThreeDifferentValues() throws {
        let i = try SQLiteValue(json: try JSONParser.parse("1"))
        let r = try SQLiteValue(json: try JSONParser.parse("1.0"))
        let t = try SQLiteValue(json: try JSONParser.parse("\"1\""))
        XCTAssertEqual(i, .integer(1))
        XCTAssertEqual(r, .real(1))
        XCTAssertEqual(t, .string("1"))
        XCTAssertEqual(Set([i, r, t]).count, 3)
    }

    func testTextIsByteExact() throws {
        XCTAssertEqual(json(.string("a\u{0}b")), #""a\u0000b""#)
        XCTAssertEqual(json(.string("😀𝄞")), "\"😀𝄞\"")
        XCTAssertEqual(json(.string("q\"\\\n")), #""q\"\\\n""#)
        XCTAssertEqual(json(.string("")), #""""#)
        // Canonically equivalent strings stay different values: no normalisation.
        let composed = SQLiteValue.string("\u{E9}"), decomposed = SQLiteValue.string("e\u{301}")
        XCTAssertNotEqual(composed, decomposed)
        for v: SQLiteValue in [.string("a\u{0}b"), .string("😀𝄞"), .string(""), composed, decomposed, .string("\u{7F}\u{1F}")] {
            try roundTrip(v)
        }
    }

    func testInvalidUTF8TextIsTaggedBase64() throws {
        XCTAssertEqual(json(.text([0xFF])), #"{"$text":"/w=="}"#)
        try roundTrip(.text([0xC3, 0x28, 0x00, 0xED, 0xA0, 0x80]))
    }

    func testBlobsAreTaggedBase64() throws {
        XCTAssertEqual(json(.blob([0, 1, 2])), #"{"$blob":"AAEC"}"#)
        XCTAssertEqual(json(.blob([])), #"{"$blob":""}"#)
        try roundTrip(.blob([]))
        try roundTrip(.blob(Array(0...255)))
        XCTAssertNotEqual(SQLiteValue.blob(Array("ab".utf8)), .string("ab"))
    }

    func testMalformedValuesAreRejected() {
        for bad in ["true", "[1]", #"{"$blob":"***"}"#, #"{"$real":"huge"}"#, #"{"$other":"x"}"#, "9223372036854775808", #"{"$blob":"AA==","x":"y"}"#] {
            XCTAssertThrowsError(try SQLiteValue(json: try JSONParser.parse(bad)), bad)
        }
    }
}
