import CDCCore
import CDCReconcile
import CDCSinks
import CDCSQLite
import XCTest

/// The source side goes through the projection: kept and renamed columns, renamed tables, and
/// the row filter (rows it rejects are not expected in the read model).
final class ProjectionCheckTests: XCTestCase {
    private func openOrdersProjection() throws -> Projection {
        try Projection(json: try JSONParser.parse(Array("""
            {"tables": {
              "orders": {"as": "open_orders", "columns": ["id", {"name": "total", "as": "amount"}],
                         "where": {"column": "status", "op": "=", "value": "open"}}
            }}
            """.utf8)))
    }

    private func makeFixture() throws -> CheckFixture {
        let f = try CheckFixture()
        try f.both("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)")
        try f.source.execute("""
            CREATE TABLE orders(id INTEGER PRIMARY KEY, total REAL, status TEXT, secret TEXT);
            INSERT INTO orders VALUES (1, 10.5, 'open', 's1'), (2, 20.0, 'closed', 's2'), (3, 30.25, 'open', 's3'), (4, 1.0, NULL, 's4');
            INSERT INTO customers VALUES (1, 'not compared: the projection leaves this table out');
            """)
        try f.replica.execute("CREATE TABLE open_orders(id INTEGER PRIMARY KEY, amount REAL); INSERT INTO open_orders VALUES (1, 10.5), (3, 30.25)")
        return f
    }

    func testRenamedColumnsAndFilteredRowsMatch() throws {
        let f = try makeFixture()
        let report = try f.check(projection: try openOrdersProjection())
        XCTAssertTrue(report.isConsistent, report.render(json: false))
        XCTAssertEqual(report.tables.map(\.sourceTable), ["orders"])
        let t = report.table("orders")
        XCTAssertEqual(t.replicaTable, "open_orders")
        XCTAssertEqual(t.sourceRowCount, 2, "rows the filter rejects are not expected")
        XCTAssertEqual(t.replicaRowCount, 2)
    }

    func testFilteredOutRowInReplicaIsExtraAndRenamedColumnIsCompared() throws {
        let f = try makeFixture()
        try f.replica.execute("INSERT INTO open_orders VALUES (2, 20.0)")  // closed: should not be there
        try f.replica.execute("UPDATE open_orders SET amount = 30 WHERE id = 3") // integer 30 vs real 30.25
        try f.source.execute("UPDATE orders SET secret = 'changed'")         // not kept: no difference
        let t = try f.check(projection: try openOrdersProjection()).table("orders")
        XCTAssertEqual(t.extra.sampleKeys, [[.integer(2)]])
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(3)]])
        XCTAssertEqual(t.missing.count, 0)
    }

    func testRowEnteringTheFilterIsMissing() throws {
        let f = try makeFixture()
        try f.source.execute("UPDATE orders SET status = 'open' WHERE id = 2")
        let t = try f.check(projection: try openOrdersProjection()).table("orders")
        XCTAssertEqual(t.missing.sampleKeys, [[.integer(2)]])
    }

    func testWithoutProjectionTheRenamedTableIsMissing() throws {
        let f = try makeFixture()
        let report = try f.check()
        XCTAssertTrue(report.table("orders").isReplicaTableMissing)
        XCTAssertEqual(report.table("orders").missing.count, 4)
        XCTAssertEqual(report.table("customers").missing.count, 1)
    }

    func testFilterOnARowidTable() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE audit(level INTEGER, msg TEXT)")
        try f.source.execute("INSERT INTO audit(rowid, level, msg) VALUES (10, 1, 'a'), (11, 5, 'b'), (12, 7, 'c')")
        try f.replica.execute("INSERT INTO audit(rowid, level, msg) VALUES (11, 5, 'b'), (12, 7, 'c')")
        let projection = Projection(tables: ["audit": .init(source: "audit", filter: RowFilter(column: "level", op: .greaterOrEqual, values: [.integer(5)]))])
        XCTAssertTrue(try f.check(projection: projection).isConsistent)
        XCTAssertEqual(try f.check().table("audit").missing.sampleKeys, [[.integer(10)]])
    }

    func testRowidTableWithAColumnRenamedToRowid() throws {
        // The read model's rowid is then reached as _rowid_, as the sink writes it.
        let f = try CheckFixture()
        try f.source.execute("CREATE TABLE audit(msg TEXT, level INTEGER); INSERT INTO audit(rowid, msg, level) VALUES (7, 'a', 1), (8, 'b', 2)")
        try f.replica.execute("CREATE TABLE audit(\"rowid\" TEXT, level INTEGER); INSERT INTO audit(_rowid_, rowid, level) VALUES (7, 'a', 1), (9, 'b', 2)")
        let projection = Projection(tables: ["audit": .init(source: "audit", columns: [.init(source: "msg", target: "rowid"), .init(source: "level")])])
        let t = try f.check(projection: projection).table("audit")
        XCTAssertEqual(t.schemaDifferences, [])
        XCTAssertEqual(t.missing.sampleKeys, [[.integer(8)]])
        XCTAssertEqual(t.extra.sampleKeys, [[.integer(9)]])
        XCTAssertEqual(t.differing.count, 0)
    }

    func testProjectionThatDoesNotFitTheSourceIsAnError() throws {
        let f = try makeFixture()
        let dropsKey = Projection(tables: ["orders": .init(source: "orders", columns: [.init(source: "total")])])
        XCTAssertThrowsError(try f.check(projection: dropsKey)) {
            XCTAssertEqual($0 as? ProjectionError, .keyColumnDropped(table: "orders", column: "id"))
        }
        let unknown = Projection(tables: ["nope": .init(source: "nope")])
        XCTAssertThrowsError(try f.check(projection: unknown)) { XCTAssertEqual($0 as? ProjectionError, .unknownTable("nope")) }
    }
}
