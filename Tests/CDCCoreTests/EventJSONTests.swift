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
            (good.replacingOccurrences(of: #""after":{"id":7,"total":12.0}"#, with: #""after":{"id":7}"#), "after"),
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
