import CDCCore
import CDCSQLite
@testable import CDCSinks
import XCTest

final class SinkOperationTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    func testInsertUpdateDeleteAndOffset() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        XCTAssertEqual(try sink.appliedLSN, .zero)
        let items = Fixture.items
        var summary = try sink.apply([
            Fixture.insert(1, items, Fixture.item(1, "apple")),
            Fixture.insert(2, items, Fixture.item(2, "pear")),
            Fixture.update(3, items, from: Fixture.item(1, "apple"), to: Fixture.item(1, "apple", qty: 7, price: 2.25)),
        ])
        XCTAssertEqual(summary.applied, 3)
        XCTAssertEqual(try sink.appliedLSN, LSN(3))
        summary = try sink.apply([Fixture.delete(4, items, Fixture.item(2, "pear")), Fixture.event(5, .heartbeat)])
        XCTAssertEqual(summary.applied, 1)
        XCTAssertEqual(try sink.appliedLSN, LSN(5))

        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.rows("items"), [Fixture.item(1, "apple", qty: 7, price: 2.25)])
        XCTAssertEqual(try reader.createSQL("items"), #"CREATE TABLE "items"("id" INTEGER, "name" TEXT NOT NULL, "qty" INTEGER, "price" REAL, PRIMARY KEY("id"))"#)
        XCTAssertEqual(try reader.count("SELECT count(*) FROM _cdc_row_versions WHERE deleted = 1"), 1, "the delete leaves a tombstone")
        XCTAssertEqual(try reader.connection.scalar("SELECT source FROM _cdc_sink_offset")?.stringValue, "orders")
    }

    func testSnapshotRowsUpsert() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Fixture.snapshot(10, Fixture.items, Fixture.item(1, "a")), Fixture.snapshot(11, Fixture.items, Fixture.item(1, "b"))])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [Fixture.item(1, "b")])
    }

    func testOffsetNeverMovesBack() throws {
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        try sink.apply([Fixture.insert(9, Fixture.items, Fixture.item(1, "a"))])
        try sink.apply([Fixture.insert(4, Fixture.items, Fixture.item(2, "b"))])
        XCTAssertEqual(try sink.appliedLSN, LSN(9))
    }

    func testOffsetSurvivesReopen() throws {
        let path = folder.path("read.db")
        do {
            let sink = try SQLiteSink(replicaPath: path)
            try sink.apply([Fixture.insert(3, Fixture.items, Fixture.item(1, "a"))])
            try sink.close()
        }
        XCTAssertEqual(try SQLiteSink(replicaPath: path).appliedLSN, LSN(3))
    }

    func testOtherSourceIsRefused() throws {
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])
        var other = Fixture.insert(2, Fixture.items, Fixture.item(2, "b"))
        other.source = SourceInfo(service: "billing", database: "/srv/billing.db", mode: .triggers)
        XCTAssertThrowsError(try sink.apply([other])) { error in
            guard case SinkError.sourceMismatch(_, let expected, let found)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(expected, "orders")
            XCTAssertEqual(found, "billing")
        }
    }

    func testEventWithoutAfterImageFailsNamingTableAndLSN() throws {
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        let bad = Fixture.change(7, .insert, Fixture.items, key: [.integer(1)], before: nil, after: nil)
        XCTAssertThrowsError(try sink.apply([bad])) { error in
            XCTAssertTrue("\(error)".contains("LSN 7"), "\(error)")
            XCTAssertTrue("\(error)".contains("items"), "\(error)")
        }
        XCTAssertEqual(try sink.appliedLSN, .zero)
    }
}
