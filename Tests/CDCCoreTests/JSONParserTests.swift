import CDCCore
import XCTest

final class JSONParserTests: XCTestCase {
    func testKeepsNumberTokensAsWritten() throws {
        XCTAssertEqual(try JSONParser.parse("[1, 1.0, -0.0, 1e+308]"), .array([.number("1"), .number("1.0"), .number("-0.0"), .number("1e+308")]))
    }

    func testDecodesEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(try JSONParser.parse(#""\u0000\ud83d\ude00\/\t""#), .string("\u{0}😀/\t"))
    }

    func testRejectsWhatRFC8259Rejects() {
        let bad = ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "nul", "{\"a\":1}x", "{\"a\":1,\"a\":2}", "{'a':1}"]
        for text in bad {
            XCTAssertThrowsError(try JSONParser.parse(text), "accepted \(text.debugDescription)")
        }
    }

    func testRejectsInvalidUTF8InStrings() {
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xFF, 0x22]))
    }

    func testDeepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONParser.parse(deep))
    }

    func testWriterEscapesControlCharacters() {
        var w = JSONWriter()
        w.beginObject(); w.key("k\u{1}"); w.string("\u{8}\u{1F}"); w.endObject()
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"{"k\u0001":"\u0008\u001f"}"#)
    }
}
