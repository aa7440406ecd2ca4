import CDCCore
import XCTest

final class EventJSONTests: XCTestCase {
    private let source = SourceInfo(service: "orders", database: "/srv/orders.db", mode: .triggers)
    private let schema = TableSchema(name: "orders", version: 1, columns: [
        ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1),
        ColumnSchema(name: "total", declaredType: "REAL", isNotNull: true, defaultSQL: "0"),
    ])

    private func update() -> Event {
        Event(lsn: LSN(42), source: source, timestampMilliseconds: 1_764_547_200_123, body: .change(RowChange(
            transaction: TransactionInfo(id: 41, index: 1, isLast: true), table: schema, operation: .update,
            key: [.integer(7)], before: [.integer(7), .real(10.5)], after: [.integer(7), .real(12)])))
    }

    /// The line of docs/events.md's example, written by hand from the spec.
    func testSerialisesTheSpecExampleByteForByte() {
        let expected = #"{"v":1,"lsn":42,"type":"change","source":{"service":"orders","db":"/srv/orders.db","mode":"triggers"},"ts_ms":1764547200123,"txn":{"id":41,"index":1,"last":true},"table":"orders","op":"update","schema":{"version":1,"without_rowid":false,"columns":[{"name":"id","type":"INTEGER","pk":1,"notnull":false,"default":null},{"name":"total","type":"REAL","pk":0,"notnull":true,"default":"0"}]},"key":{"id":7},"before":{"id":7,"total":10.5},"after":{"id":7,"total":12.0},"version":42}"#
        XCTAssertEqual(update().jsonString, expected)
        XCTAssertEqual(try Event(jsonLine: Array(expected.utf8)), update())
    }

    func testMarkersAndHeartbeatsRoundTrip() throws {
        let epoch = SnapshotEpoch(epoch: LSN(100), tables: ["a b", "c\"d"], reason: "initial")
        for body: Event.Body in [.snapshotStart(epoch), .snapshotEnd(epoch), .heartbeat] {
            let e = Event(lsn: LSN(100), source: source, timestampMilliseconds: 5, body: body)
            XCTAssertEqual(try Event(jsonLine: e.jsonLine()), e)
        }
    }

    func testRowIDKeyedTablesUseTheFirstFreeAlias() throws {
        let t = TableSchema(name: "log", version: 3, columns: [ColumnSchema(name: "rowid", declaredType: "TEXT"), ColumnSchema(name: "msg", declaredType: "")])
        XCTAssertEqual(t.keyNames, ["_rowid_"])
        let e = Event(lsn: LSN(9), source: source, timestampMilliseconds: 0, body: .change(RowChange(
            transaction: TransactionInfo(id: 9, index: 0, isLast: true), table: t, operation: .insert,
            key: [.integer(5)], before: nil, after: [.string("x"), .null])))
        XCTAssertTrue(e.jsonString.contains(#""key":{"_rowid_":5}"#))
        XCTAssertEqual(try Event(jsonLine: e.jsonLine()), e)
    }

    func testImagesMayComeInAnyMemberOrder() throws {
        let reordered = update().jsonString.replacingOccurrences(of: #""after":{"id":7,"total":12.0}"#, with: #""after":{"total":12.0,"id":7}"#)
        XCTAssertEqual(try Event(jsonLine: Array(reordered.utf8)), update())
    }

    /// Each malformed line must name the line and the field that is wrong.
    func testMalformedLinesNameLineAndField() {
        let good = update().jsonString
        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: #""v":1"#, with: #""v":2"#), "v"),
            (good.replacingOccurrences(of: #""lsn":42"#, with: #""lsn":"42""#), "lsn"),
            (good.replacingOccurrences(of: #""op":"update""#, with: #""op":"upsert""#), "op"),
            (good.replacingOccurrences(of: #""before":{"id":7,"total":10.5}"#, with: "\"before\":null"), "before"),
            (good.replacingOccurrences(of: #""total":10.5"#, with: #""total":true"#), "before.total"),
            (good.replacingOccurrences(of: #""after":{"id":7,"total":12.0}"#, with: #""after":{"id":7}"#), "after.total"),
            (good.replacingOccurrences(of: #""version":42"#, with: #""version":41"#), "version"),
            (good.replacingOccurrences(of: #""mode":"triggers""#, with: #""mode":"magic""#), "source.mode"),
            (good.replacingOccurrences(of: #""txn":{"id":41,"#, with: #""txn":{"#), "txn.id"),
            (good.replacingOccurrences(of: #""key":{"id":7}"#, with: #""key":{"id":{"$blob":"!"}}"#), "key.id"),
        ]
        for (line, field) in cases {
            XCTAssertThrowsError(try Event(jsonLine: Array(line.utf8), lineNumber: 12)) { error in
                guard let e = error as? EventDecodingError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.line, 12)
                XCTAssertEqual(e.field, field, e.description)
                XCTAssertTrue(e.description.contains("line 12"), e.description)
            }
        }
        XCTAssertThrowsError(try Event(jsonLine: Array("{not json".utf8), lineNumber: 3)) { error in
            XCTAssertTrue(String(describing: error).contains("line 3"))
        }
    }
}

/// The one-pass decoder against the tree parser: both must accept and reject the same lines.
final class EventDecoderTests: XCTestCase {
    func testDuplicateMembersAreRejectedAtEveryLevel() {
        let base = #"{"v":1,"lsn":5,"type":"heartbeat","source":{"service":"s","db":"d","mode":"wal"},"ts_ms":1}"#
        XCTAssertNoThrow(try Event(jsonLine: Array(base.utf8)))
        for bad in [base.replacingOccurrences(of: #""lsn":5"#, with: #""lsn":5,"lsn":6"#),
                    base.replacingOccurrences(of: #""ts_ms":1"#, with: #""ts_ms":1,"x":1,"x":2"#)] {
            XCTAssertThrowsError(try Event(jsonLine: Array(bad.utf8)), bad)
        }
    }

    func testSchemaCacheDoesNotConfuseTablesWithTheSameShape() throws {
        let decoder = EventDecoder()
        let schema = TableSchema(name: "a", version: 1, columns: [ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1)])
        let source = SourceInfo(service: "s", database: "d", mode: .triggers)
        for (lsn, name) in [(1, "a"), (2, "b"), (3, "a")] {
            var t = schema
            t.name = name
            let e = Event(lsn: LSN(Int64(lsn)), source: source, timestampMilliseconds: 0, body: .change(RowChange(
                transaction: TransactionInfo(id: Int64(lsn), index: 0, isLast: true), table: t, operation: .insert,
                key: [.integer(1)], before: nil, after: [.integer(1)])))
            XCTAssertEqual(try decoder.decode(e.jsonLine()), e)
        }
    }

    /// Random byte damage to valid lines: the decoder must throw or return, never crash or
    /// hang, and whatever it accepts must re-encode to an event that decodes to itself.
    func testDamagedLinesNeverCrashTheDecoder() throws {
        let source = SourceInfo(service: "s", database: "d", mode: .triggers)
        let t = TableSchema(name: "t", version: 1, columns: [ColumnSchema(name: "k", declaredType: "TEXT", primaryKeyPosition: 1), ColumnSchema(name: "v", declaredType: "")])
        let e = Event(lsn: LSN(9), source: source, timestampMilliseconds: 3, body: .change(RowChange(
            transaction: TransactionInfo(id: 9, index: 0, isLast: true), table: t, operation: .update,
            key: [.string("k\u{0}😀")], before: [.string("k\u{0}😀"), .blob([1, 2])], after: [.string("k\u{0}😀"), .real(-0.0)])))
        let line = e.jsonLine()
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next() -> Int { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return Int(truncatingIfNeeded: state & 0x7FFF_FFFF) }
        for _ in 0..<5_000 {
            var damaged = line
            for _ in 0..<(1 + next() % 3) {
                let i = next() % damaged.count
                switch next() % 3 {
                case 0: damaged[i] = UInt8(truncatingIfNeeded: next())
                case 1: damaged.remove(at: i)
                default: damaged.insert(damaged[next() % damaged.count], at: i)
                }
            }
            if let decoded = try? Event(jsonLine: damaged) {
                XCTAssertEqual(try Event(jsonLine: decoded.jsonLine()), decoded)
            }
        }
    }
}
