@testable import CDCWAL
import XCTest

/// The cursor's big-endian reads and SQLite varints (fileformat2.html §1.6).
final class ByteCursorTests: XCTestCase {
    func testBigEndianReadsAndNeedMoreBytes() {
        var c = ByteCursor([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09])
        XCTAssertEqual(c.readUInt16(), 0x0102)
        XCTAssertEqual(c.readUInt32(), 0x0304_0506)
        XCTAssertNil(c.readUInt32(), "3 bytes left: need more bytes")
        XCTAssertEqual(c.remainingCount, 3, "a short read does not move")
        XCTAssertEqual(c.readBigEndian(byteCount: 3), 0x070809)
        XCTAssertTrue(c.isAtEnd)
        var d = ByteCursor([0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99, 0x88])
        XCTAssertEqual(d.readUInt64(), 0xFFEE_DDCC_BBAA_9988)
    }

    func testCursorOverASliceUsesTheSliceIndices() {
        let all: [UInt8] = [9, 9, 0x12, 0x34]
        var c = ByteCursor(all[2...])
        XCTAssertEqual(c.position, 2)
        XCTAssertEqual(c.readUInt16(), 0x1234)
    }

    /// Known encodings written from §1.6, including the 9-byte form whose last byte carries 8 bits.
    func testVarintKnownEncodings() {
        let cases: [([UInt8], UInt64)] = [
            ([0x00], 0), ([0x7F], 127), ([0x81, 0x00], 128), ([0xFF, 0x7F], 16383),
            ([0x81, 0x80, 0x00], 16384),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], UInt64.max),
            ([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 1),
        ]
        for (bytes, value) in cases {
            let decoded = Varint.decode(bytes[...], at: 0)
            XCTAssertEqual(decoded?.value, value, "\(bytes)")
            XCTAssertEqual(decoded?.length, bytes.count)
        }
    }

    func testVarintNeverReadsATenthByte() {
        let bytes = [UInt8](repeating: 0xFF, count: 12)
        XCTAssertEqual(Varint.decode(bytes[...], at: 0)?.length, 9)
        XCTAssertNil(Varint.decode([0x80, 0x80][...], at: 0), "ends inside: need more bytes")
        XCTAssertNil(Varint.decode([UInt8]()[...], at: 0))
    }

    func testVarintRoundTripsAtEveryLengthBoundary() {
        var values: [UInt64] = [0, UInt64.max, UInt64(bitPattern: -1), UInt64(bitPattern: Int64.min)]
        for shift in stride(from: 7, through: 63, by: 7) {
            let b = UInt64(1) << UInt64(shift)
            values += [b - 1, b, b + 1]
        }
        values.append((UInt64(1) << 56) - 1)
        values.append(UInt64(1) << 56)
        for v in values {
            let e = Varint.encode(v)
            XCTAssertLessThanOrEqual(e.count, 9)
            let d = Varint.decode(e[...], at: 0)
            XCTAssertEqual(d?.value, v)
            XCTAssertEqual(d?.length, e.count)
        }
    }
}
