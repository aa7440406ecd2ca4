import CDCCore
import CDCSQLite
import CDCSinks
import XCTest

/// Rowid-keyed tables, WITHOUT ROWID with composite keys, and names that need quoting.
final class TableShapeTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    func testRowIDKeyedTableKeepsTheSourceRowID() throws {
        let log = TableSchema(name: "log", version: 1, columns: [
            ColumnSchema(name: "message", declaredType: "TEXT"),
            ColumnSchema(name: "level", declaredType: ""),
        ])
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([
            Fixture.insert(1, log, [.string("boot"), .integer(1)], rowID: 1000),
            Fixture.insert(2, log, [.string("same text"), .integer(2)], rowID: 7),
            Fixture.insert(3, log, [.string("same text"), .integer(2)], rowID: 8),
            Fixture.update(4, log, from: [.string("boot"), .integer(1)], to: [.string("booted"), .integer(1)], rowID: 1000),
            Fixture.delete(5, log, [.string("same text"), .integer(2)], rowID: 7),
        ])
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.rows("log", withRowID: true), [
            [.integer(8), .string("same text"), .integer(2)],
            [.integer(1000), .string("booted"), .integer(1)],
        ])
        XCTAssertEqual(try reader.createSQL("log"), #"CREATE TABLE "log"("message" TEXT, "level")"#)
    }

    func testRowIDKeyUsesTheFreeAliasWhenAColumnIsNamedRowID() throws {
        let t = TableSchema(name: "t", version: 1, columns: [ColumnSchema(name: "rowid", declaredType: "TEXT")])
        XCTAssertEqual(t.keyNames, ["_rowid_"])
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([
            Fixture.insert(1, t, [.string("x")], rowID: 5),
            Fixture.insert(2, t, [.string("y")], rowID: 6),
            Fixture.delete(3, t, [.string("x")], rowID: 5),
        ])
        let rows = try ReplicaReader(path: path).connection.query("SELECT _rowid_, \"rowid\" FROM t")
        XCTAssertEqual(rows, [[.integer(6), .string("y")]])
    }

    func testWithoutRowIDCompositeKey() throws {
        let t = TableSchema(name: "stock", version: 1, columns: [
            ColumnSchema(name: "qty", declaredType: "INT"),
            ColumnSchema(name: "store", declaredType: "TEXT", primaryKeyPosition: 2),
            ColumnSchema(name: "sku", declaredType: "BLOB", primaryKeyPosition: 1),
        ], isWithoutRowID: true)
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([
            Fixture.insert(1, t, [.integer(3), .string("north"), .blob([1, 2])]),
            Fixture.insert(2, t, [.integer(4), .string("south"), .blob([1, 2])]),
            Fixture.update(3, t, from: [.integer(3), .string("north"), .blob([1, 2])], to: [.integer(30), .string("north"), .blob([1, 2])]),
            Fixture.delete(4, t, [.integer(4), .string("south"), .blob([1, 2])]),
        ])
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.createSQL("stock"), #"CREATE TABLE "stock"("qty" INT, "store" TEXT, "sku" BLOB, PRIMARY KEY("sku", "store")) WITHOUT ROWID"#)
        XCTAssertEqual(try reader.rows("stock"), [[.integer(30), .string("north"), .blob([1, 2])]])
    }

    func testNamesThatNeedQuoting() throws {
        for name in ["order", #"a"b"#, "Order Items", "ünïcødé 表", "select * from x; --"] {
            let t = TableSchema(name: name, version: 1, columns: [
                ColumnSchema(name: "group", declaredType: "INTEGER", primaryKeyPosition: 1),
                ColumnSchema(name: #"we"ird col"#, declaredType: "TEXT"),
                ColumnSchema(name: "naïve 列", declaredType: ""),
            ])
            let path = folder.path("read-\(UUID().uuidString).db")
            let sink = try SQLiteSink(replicaPath: path)
            try sink.apply([
                Fixture.insert(1, t, [.integer(1), .string("a"), .integer(1)]),
                Fixture.insert(2, t, [.integer(2), .string("b"), .integer(2)]),
                Fixture.update(3, t, from: [.integer(1), .string("a"), .integer(1)], to: [.integer(1), .string("A"), .integer(10)]),
                Fixture.delete(4, t, [.integer(2), .string("b"), .integer(2)]),
            ])
            let reader = try ReplicaReader(path: path)
            XCTAssertEqual(try reader.connection.userTableNames(), [name])
            XCTAssertEqual(try reader.rows(name), [[.integer(1), .string("A"), .integer(10)]], name)
            XCTAssertEqual(try reader.connection.tableSchema(name).columnNames, ["group", #"we"ird col"#, "naïve 列"])
        }
    }

    func testMetadataTableNamesAreRefused() throws {
        let t = TableSchema(name: "_cdc_row_versions", version: 1, columns: [ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1)])
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        XCTAssertThrowsError(try sink.apply([Fixture.insert(1, t, [.integer(1)])])) { error in
            XCTAssertEqual(error as? SinkError, .reservedTableName("_cdc_row_versions"))
        }
        let projection = Projection(tables: ["items": .init(source: "items", target: "_cdc_sink_offset")])
        XCTAssertThrowsError(try SQLiteSink(replicaPath: folder.path("other.db"), projection: projection))
    }

    func testDeclaredTypeThatIsNotATypeNameIsRefused() throws {
        let t = TableSchema(name: "t", version: 1, columns: [
            ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1),
            ColumnSchema(name: "x", declaredType: "TEXT); DROP TABLE y; --"),
        ])
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        XCTAssertThrowsError(try sink.apply([Fixture.insert(1, t, [.integer(1), .string("a")])])) { error in
            guard case SinkError.unsupportedSchemaChange(let table, _, let lsn)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "t")
            XCTAssertEqual(lsn, LSN(1))
        }
    }
}
