import CDCCore
@testable import CDCWAL
import CDCWorkload
import XCTest

/// The record format of fileformat2.html §2.1, from hand-built records.
final class RecordTests: XCTestCase {
    /// Builds a record from (serial type, body) pairs.
    private func record(_ columns: [(UInt64, [UInt8])]) -> [UInt8] {
        let types = columns.flatMap { Varint.encode($0.0) }
        var headerSize = types.count + 1
        if Varint.encode(UInt64(headerSize)).count > 1 { headerSize += 1 }
        return Varint.encode(UInt64(headerSize)) + types + columns.flatMap { $0.1 }
    }

    func testEverySerialTypeDecodesToItsExactStorageClass() throws {
        let pi = Double.pi.bitPattern
        let piBytes = (0..<8).map { UInt8(truncatingIfNeeded: pi >> UInt64(56 - 8 * $0)) }
        let bytes = record([
            (0, []), (1, [0xFF]), (2, [0x80, 0x00]), (3, [0x7F, 0xFF, 0xFF]), (4, [0xFF, 0xFF, 0xFF, 0xFE]),
            (5, [0x00, 0x01, 0x00, 0x00, 0x00, 0x00]), (6, [0x80, 0, 0, 0, 0, 0, 0, 0]), (7, piBytes),
            (8, []), (9, []), (12, []), (13, []), (12 + 2 * 3, [1, 2, 3]), (13 + 2 * 2, [0x68, 0x69]),
        ])
        let values = try Record.decode(bytes[...])
        let expected: [SQLiteValue] = [
            .null, .integer(-1), .integer(-32768), .integer(8_388_607), .integer(-2), .integer(1 << 32),
            .integer(Int64.min), .real(Double.pi), .integer(0), .integer(1), .blob([]), .text([]),
            .blob([1, 2, 3]), .string("hi"),
        ]
        XCTAssertEqual(values.count, expected.count)
        for (i, (v, e)) in zip(values, expected).enumerated() {
            if case .integer(let a) = v, case .integer(let b) = e { XCTAssertEqual(a, b, "column \(i)") }
            XCTAssertEqual(v, e, "column \(i)")
        }
    }

    func testNegativeZeroRealKeepsItsBits() throws {
        let bytes = record([(7, [0x80, 0, 0, 0, 0, 0, 0, 0])])
        XCTAssertEqual(try Record.decode(bytes[...]), [.real(-0.0)])
        XCTAssertNotEqual(try Record.decode(bytes[...]), [.real(0.0)])
    }

    func testReservedSerialTypesAreErrors() {
        for t: UInt64 in [10, 11] {
            XCTAssertThrowsError(try Record.decode(record([(t, [])])[...])) {
                XCTAssertEqual(($0 as? PageDecodingError)?.kind, .reservedSerialType(t))
            }
        }
    }

    func testHeaderLargerThanPayloadIsAnError() {
        XCTAssertThrowsError(try Record.decode([0x05, 0x01][...])) {
            XCTAssertEqual(($0 as? PageDecodingError)?.kind, .recordHeaderOutOfRange(headerSize: 5, payloadSize: 2))
        }
        XCTAssertThrowsError(try Record.decode([0x00][...]), "a header cannot be smaller than its own size varint")
    }

    func testBodyShorterThanItsSerialTypesIsAnError() {
        XCTAssertThrowsError(try Record.decode([0x02, 0x06, 0x01, 0x02][...])) {
            XCTAssertEqual(($0 as? PageDecodingError)?.kind, .recordBodyTruncated)
        }
        let hugeText = [0x0A] + Varint.encode(UInt64.max) // a 9-byte serial type of an absurd text
        XCTAssertThrowsError(try Record.decode(hugeText[...]))
    }

    func testShortRecordReturnsOnlyThePresentColumns() throws {
        XCTAssertEqual(try Record.decode(record([(1, [7])])[...]), [.integer(7)])
        XCTAssertEqual(try Record.decode([0x01][...]), [], "a header with no columns")
    }

    /// Decoding a payload straight into an image gives what decoding the record and then
    /// mapping it gives, for layouts with a rowid alias, REAL columns, short records (rows
    /// from before ADD COLUMN), a generated column and a WITHOUT ROWID key out of order.
    func testImagesDecodedStraightFromPayloadsEqualMappedRecords() throws {
        typealias Column = RowImageLayout.Column
        let layouts = [
            RowImageLayout(columns: [Column(name: "id", affinity: .integer), Column(name: "price", affinity: .real),
                                     Column(name: "note", affinity: .text, defaultValue: .string("none"))],
                           isWithoutRowID: false, rowIDAliasColumn: 0, primaryKeyColumns: [0]),
            RowImageLayout(columns: [Column(name: "a", affinity: .blob), Column(name: "g", affinity: .real, storage: .virtualGenerated),
                                     Column(name: "b", affinity: .real, defaultValue: .real(2.5))],
                           isWithoutRowID: false, rowIDAliasColumn: nil, primaryKeyColumns: []),
            RowImageLayout(columns: [Column(name: "x", affinity: .text), Column(name: "k", affinity: .integer)],
                           isWithoutRowID: true, rowIDAliasColumn: nil, primaryKeyColumns: [1]),
        ]
        let fields: [(UInt64, [UInt8])] = [
            (0, []), (1, [0xFE]), (9, []), (7, Array(repeating: 0x40, count: 8)), (13 + 2 * 3, Array("abc".utf8)),
            (12 + 2 * 2, [0, 1]), (6, [0x7F, 0, 0, 0, 0, 0, 0, 1]),
        ]
        var rng = SplitMix64(seed: 17)
        for (n, layout) in layouts.enumerated() {
            for round in 0..<200 {
                let count = Int.random(in: 0...layout.storedFieldCount, using: &rng)
                let payload = record((0..<count).map { _ in fields.randomElement(using: &rng)! })
                let rowid = Int64(round) - 100
                let expected = try layout.image(ofRecord: Record.decode(payload[...]), rowid: rowid)
                XCTAssertEqual(try layout.image(ofPayload: payload[...], rowid: rowid, pageNumber: nil), expected, "layout \(n), payload \(payload)")
            }
            let tooLong = record(Array(repeating: (1, [7]), count: layout.storedFieldCount + 1))
            XCTAssertThrowsError(try layout.image(ofPayload: tooLong[...], rowid: 1, pageNumber: 3)) {
                XCTAssertEqual($0 as? RowImageError, .recordTooLong(fields: layout.storedFieldCount + 1, storedColumns: layout.storedFieldCount))
            }
        }
    }
}

/// Column affinity from declared types (datatype3.html §3.1) and the REAL read conversion.
final class ColumnAffinityTests: XCTestCase {
    func testAffinityRulesInOrder() {
        let cases: [(String, ColumnAffinity)] = [
            ("INTEGER", .integer), ("BIGINT", .integer), ("POINT", .integer), ("VARCHAR(10)", .text), ("CLOB", .text),
            ("BLOB", .blob), ("", .blob), ("REAL", .real), ("DOUBLE PRECISION", .real), ("FLOAT", .real),
            ("NUMERIC", .numeric), ("DECIMAL(10,5)", .numeric), ("CHARINT", .integer),
        ]
        for (type, affinity) in cases { XCTAssertEqual(ColumnAffinity(declaredType: type), affinity, type) }
    }

    func testIntegersInRealColumnsReadAsReals() {
        XCTAssertEqual(ColumnAffinity.real.realizing(.integer(3)), .real(3.0))
        XCTAssertEqual(ColumnAffinity.numeric.realizing(.integer(3)), .integer(3))
        XCTAssertEqual(ColumnAffinity.real.realizing(.string("3")), .string("3"))
    }
}
