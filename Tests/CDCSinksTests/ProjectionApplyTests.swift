import CDCCore
import CDCSQLite
import CDCSinks
import XCTest

/// Renames, column subsets, filters moving rows in and out, and tables left out.
final class ProjectionApplyTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    static let projection = Projection(tables: [
        "items": Projection.TableRule(
            source: "items", target: "cheap items",
            columns: [.init(source: "id", target: "item_id"), .init(source: "name"), .init(source: "price", target: "amount")],
            filter: RowFilter(column: "price", op: .less, values: [.integer(10)])),
    ])

    func testRenamesSubsetsAndFilters() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path, projection: Self.projection)
        let items = Fixture.items
        try sink.apply([
            Fixture.insert(1, items, Fixture.item(1, "cheap", price: 2)),
            Fixture.insert(2, items, Fixture.item(2, "dear", price: 20)),
            Fixture.insert(3, items, Fixture.item(3, "cheap too", price: 3)),
        ])
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.connection.userTableNames(), ["cheap items"])
        XCTAssertEqual(try reader.connection.tableSchema("cheap items").columnNames, ["item_id", "name", "amount"])
        XCTAssertEqual(try reader.rows("cheap items"), [
            [.integer(1), .string("cheap"), .real(2)], [.integer(3), .string("cheap too"), .real(3)],
        ])
        // Item 1 stops matching (leaves), item 2 starts matching (enters), item 3 changes key.
        try sink.apply([
            Fixture.update(4, items, from: Fixture.item(1, "cheap", price: 2), to: Fixture.item(1, "cheap", price: 50)),
            Fixture.update(5, items, from: Fixture.item(2, "dear", price: 20), to: Fixture.item(2, "dear no more", price: 5)),
            Fixture.update(6, items, from: Fixture.item(3, "cheap too", price: 3), to: Fixture.item(30, "cheap too", price: 3)),
        ])
        XCTAssertEqual(try reader.rows("cheap items"), [
            [.integer(2), .string("dear no more"), .real(5)], [.integer(30), .string("cheap too"), .real(3)],
        ])
        // A replay of the old insert of item 1 (which matched) must not bring it back.
        try sink.apply([Fixture.insert(1, items, Fixture.item(1, "cheap", price: 2))])
        XCTAssertEqual(try reader.rows("cheap items").map { $0[0] }, [.integer(2), .integer(30)])
    }

    func testTablesLeftOutAreSkippedButAdvanceTheOffset() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path, projection: Self.projection)
        let other = TableSchema(name: "secrets", version: 1, columns: [ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1)])
        let summary = try sink.apply([Fixture.insert(1, other, [.integer(1)]), Fixture.insert(2, other, [.integer(2)])])
        XCTAssertEqual(summary.skipped, 2)
        XCTAssertEqual(try sink.appliedLSN, LSN(2))
        XCTAssertEqual(try ReplicaReader(path: path).connection.userTableNames(), [])
    }

    func testUnknownColumnIsAOneLineErrorAtTheTablesFirstEvent() throws {
        let projection = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id"), .init(source: "colour")])])
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"), projection: projection)
        XCTAssertThrowsError(try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])) { error in
            XCTAssertEqual(error as? ProjectionError, .unknownColumn(table: "items", column: "colour"))
            XCTAssertFalse("\(error)".contains("\n"))
        }
        XCTAssertEqual(try sink.appliedLSN, .zero)
    }
}
