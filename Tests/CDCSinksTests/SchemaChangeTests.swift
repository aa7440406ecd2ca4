import CDCCore
import CDCSQLite
import CDCSinks
import XCTest

/// Added columns are evolved; every other change stops with the table, change and LSN.
final class SchemaChangeTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    static let v1 = Fixture.items
    static var v2: TableSchema {
        var s = Fixture.items
        s.version = 2
        s.columns.append(ColumnSchema(name: "colour", declaredType: "TEXT", isNotNull: true, defaultSQL: "'none'"))
        return s
    }

    func testAddedColumnIsAddedWithItsDefault() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a")), Fixture.insert(2, Self.v1, Fixture.item(2, "b"))])
        try sink.apply([Fixture.insert(3, Self.v2, Fixture.item(3, "c") + [.string("red")])])
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.rows("items"), [
            Fixture.item(1, "a") + [.string("none")], Fixture.item(2, "b") + [.string("none")], Fixture.item(3, "c") + [.string("red")],
        ])
        // A replay of an event of the older schema is fine (it is older, and skipped).
        let summary = try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        XCTAssertEqual(summary.skipped, 1)
        // An older-schema event newer for its key writes its columns; the new one keeps its default.
        try sink.apply([Fixture.insert(4, Self.v1, Fixture.item(4, "d"))])
        XCTAssertEqual(try reader.rows("items").last, Fixture.item(4, "d") + [.string("none")])
    }

    func testDroppedColumnStopsWithTableChangeAndLSN() throws {
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        var dropped = Self.v1
        dropped.version = 2
        dropped.columns.removeLast()
        XCTAssertThrowsError(try sink.apply([Fixture.insert(7, dropped, [.integer(2), .string("b"), .integer(1)])])) { error in
            guard case SinkError.unsupportedSchemaChange(let table, let change, let lsn)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, LSN(7))
            XCTAssertTrue(change.contains("price"), change)
        }
        XCTAssertEqual(try sink.appliedLSN, LSN(1))
    }

    func testTypeAndKeyChangesStop() throws {
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        var retyped = Self.v1
        retyped.version = 2
        retyped.columns[2].declaredType = "TEXT"
        XCTAssertThrowsError(try sink.apply([Fixture.insert(2, retyped, Fixture.item(2, "b"))])) { error in
            XCTAssertTrue("\(error)".contains("declared type"), "\(error)")
        }
        var rekeyed = Self.v1
        rekeyed.version = 3
        rekeyed.columns[0].primaryKeyPosition = 0
        rekeyed.columns[1].primaryKeyPosition = 1
        XCTAssertThrowsError(try sink.apply([Fixture.insert(3, rekeyed, Fixture.item(3, "c"))])) { error in
            XCTAssertTrue("\(error)".contains("primary key"), "\(error)")
        }
    }

    func testNotNullColumnWithoutDefaultCannotBeAdded() throws {
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        var v2 = Self.v2
        v2.columns[4].defaultSQL = nil
        XCTAssertThrowsError(try sink.apply([Fixture.insert(2, v2, Fixture.item(2, "b") + [.string("x")])])) { error in
            XCTAssertTrue("\(error)".contains("NOT NULL without a default"), "\(error)")
        }
    }
}
