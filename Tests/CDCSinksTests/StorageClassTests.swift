import CDCCore
import CDCSQLite
import CDCSinks
import XCTest

/// Promise 4: the replica equals the source value for value and type for type.
final class StorageClassTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    static let edgeValues: [SQLiteValue] = [
        .null,
        .integer(.min), .integer(.max), .integer(0), .integer(-1), .integer(9_007_199_254_740_993),
        .real(-0.0), .real(0.0), .real(1e308), .real(.leastNonzeroMagnitude), .real(-1.5), .real(.infinity), .real(3.0),
        .text([]), .string("123"), .string("1.0"), .text([0x61, 0x00, 0x62]), .string("😀 non-BMP 𝄞"),
        .text([0xFF, 0xFE, 0x41]), .text([0xC3]),
        .blob([]), .blob([0x00]), .blob(Array(0...255).map(UInt8.init)),
    ]

    /// For each declared type (so each affinity), writes every edge value into a real source
    /// table, reads what the source stored, sends that as events, and compares the replica
    /// with the source bit for bit.
    func testEveryEdgeValueRoundTripsUnderEveryAffinity() throws {
        let types = ["", "INTEGER", "REAL", "TEXT", "BLOB", "NUMERIC", "VARCHAR(10)", "DOUBLE PRECISION"]
        let columns = [ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1)]
            + types.enumerated().map { ColumnSchema(name: "c\($0.offset)", declaredType: $0.element) }
        let schema = TableSchema(name: "vals", version: 1, columns: columns)

        let source = try Connection(path: folder.path("source.db"), mode: .create)
        let defs = columns.map { "\(quoteIdentifier($0.name)) \($0.declaredType)" + ($0.primaryKeyPosition > 0 ? " PRIMARY KEY" : "") }
        try source.execute("CREATE TABLE vals(\(defs.joined(separator: ", ")))")
        let insert = try source.prepare("INSERT INTO vals VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))")
        for (i, v) in Self.edgeValues.enumerated() {
            try insert.run([.integer(Int64(i + 1))] + Array(repeating: v, count: types.count))
        }
        let sourceRows = try source.query("SELECT * FROM vals ORDER BY id")

        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply(sourceRows.enumerated().map { Fixture.insert(Int64($0.offset + 1), schema, $0.element) })
        let replicaRows = try ReplicaReader(path: path).rows("vals")
        XCTAssertEqual(replicaRows.count, sourceRows.count)
        for (r, s) in zip(replicaRows, sourceRows) {
            for (i, (a, b)) in zip(r, s).enumerated() {
                XCTAssertEqual(a, b, "row \(s[0]) column \(columns[i].name) (\(columns[i].declaredType)): replica \(a) source \(b)")
                if case .real(let x) = a, case .real(let y) = b { XCTAssertEqual(x.bitPattern, y.bitPattern) }
            }
        }
        // Untyped columns keep exactly what was written, -0.0 included.
        XCTAssertEqual(replicaRows.map { $0[1] }, Self.edgeValues)
    }

    func testEdgeValuesAsKeysStayDistinct() throws {
        let schema = TableSchema(name: "k", version: 1, columns: [
            ColumnSchema(name: "key", declaredType: "", primaryKeyPosition: 1),
            ColumnSchema(name: "n", declaredType: "INTEGER"),
        ], isWithoutRowID: true)
        // Keys SQLite keeps apart in a column without affinity (1 and 1.0 compare equal there, so only one of them).
        let keys: [SQLiteValue] = [.integer(.min), .integer(.max), .integer(9_007_199_254_740_993), .real(1.5), .real(1e308),
                                   .string("1"), .text([0x61, 0x00]), .text([0xFF]), .blob([0x31]), .blob([]), .text([])]
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply(keys.enumerated().map { Fixture.insert(Int64($0.offset + 1), schema, [$0.element, .integer(Int64($0.offset))]) })
        // Delete every other key, then replay all inserts: deleted ones must stay deleted.
        let deleted = keys.enumerated().filter { $0.offset % 2 == 0 }
        try sink.apply(deleted.map { Fixture.delete(Int64(100 + $0.offset), schema, [$0.element, .integer(Int64($0.offset))]) })
        try sink.apply(keys.enumerated().map { Fixture.insert(Int64($0.offset + 1), schema, [$0.element, .integer(Int64($0.offset))]) })
        let remaining = try ReplicaReader(path: path).connection.query("SELECT key, n FROM k ORDER BY n")
        XCTAssertEqual(remaining, keys.enumerated().filter { $0.offset % 2 == 1 }.map { [$0.element, .integer(Int64($0.offset))] })
    }

    func testRowKeyEncodingDistinguishesStorageClasses() throws {
        let encoded = [RowKey([.integer(1)]), RowKey([.real(1)]), RowKey([.string("1")]), RowKey([.blob([0x31])]),
                       RowKey([.real(-0.0)]), RowKey([.real(0.0)]), RowKey([.text([0xFF])]), RowKey([.null]), RowKey([.integer(1), .integer(1)])]
        XCTAssertEqual(Set(encoded.map(\.encoded)).count, encoded.count)
        for key in encoded { XCTAssertEqual(try RowKey(encoded: key.encoded), key) }
    }
}
