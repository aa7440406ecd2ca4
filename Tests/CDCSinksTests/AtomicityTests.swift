import CDCCore
import CDCSQLite
import CDCSinks
import XCTest

/// A batch is one transaction with the offset: a failure in the middle keeps nothing.
final class AtomicityTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    func testConstraintViolationRollsBackTheWholeBatchAndTheOffset() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        let items = Fixture.items
        try sink.apply([Fixture.insert(1, items, Fixture.item(1, "a"))])
        let other = TableSchema(name: "other", version: 1, columns: [ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1)])
        let badRow: [SQLiteValue] = [.integer(3), .null, .integer(1), .real(1)]  // name is NOT NULL
        XCTAssertThrowsError(try sink.apply([
            Fixture.insert(2, items, Fixture.item(2, "b")),
            Fixture.insert(3, other, [.integer(1)]),  // creates a table inside the batch
            Fixture.delete(4, items, Fixture.item(1, "a")),
            Fixture.insert(5, items, badRow),
            Fixture.insert(6, items, Fixture.item(6, "f")),
        ])) { error in
            guard case SinkError.applyFailed(let table, let lsn, let reason)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, LSN(5))
            XCTAssertTrue(reason.contains("NOT NULL"), reason)
        }
        XCTAssertEqual(try sink.appliedLSN, LSN(1))
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.rows("items"), [Fixture.item(1, "a")])
        XCTAssertEqual(try reader.connection.userTableNames(), ["items"], "the table created in the failed batch is rolled back too")
        XCTAssertEqual(try reader.count("SELECT count(*) FROM _cdc_row_versions"), 1)

        // The sink keeps working after the failure: same events without the bad one.
        try sink.apply([
            Fixture.insert(2, items, Fixture.item(2, "b")),
            Fixture.insert(3, other, [.integer(1)]),
            Fixture.delete(4, items, Fixture.item(1, "a")),
            Fixture.insert(6, items, Fixture.item(6, "f")),
        ])
        XCTAssertEqual(try sink.appliedLSN, LSN(6))
        XCTAssertEqual(try reader.rows("items"), [Fixture.item(2, "b"), Fixture.item(6, "f")])
        XCTAssertEqual(try reader.rows("other"), [[.integer(1)]])
    }
}
