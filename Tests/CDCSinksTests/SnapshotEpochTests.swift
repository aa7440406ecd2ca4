import CDCCore
import CDCSQLite
import CDCSinks
import XCTest

/// A snapshot epoch's end removes rows older than the epoch that it did not contain.
final class SnapshotEpochTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    /// More rows than one page of the epoch-end scan (10,000 keys): stale rows on every page
    /// are removed and the rows the epoch contained are kept.
    func testEpochEndPagesThroughLargeTables() throws {
        let path = folder.path("large.db")
        let sink = try SQLiteSink(replicaPath: path)
        let items = Fixture.items
        let n: Int64 = 25_000
        var lsn: Int64 = 0
        var history: [Event] = []
        for id in 1...n { lsn += 1; history.append(Fixture.insert(lsn, items, Fixture.item(id, "old"))) }
        for chunk in stride(from: 0, to: history.count, by: 5_000) { try sink.apply(Array(history[chunk..<min(chunk + 5_000, history.count)])) }
        lsn += 1
        let epoch = lsn
        var epochEvents = [Fixture.epochStart(epoch, tables: ["items"])]
        // The epoch contains every id not divisible by 3.
        for id in 1...n where id % 3 != 0 { lsn += 1; epochEvents.append(Fixture.snapshot(lsn, items, Fixture.item(id, "kept"))) }
        lsn += 1
        epochEvents.append(Fixture.epochEnd(lsn, epoch: epoch, tables: ["items"]))
        let summary = try sink.apply(epochEvents)
        XCTAssertEqual(summary.rowsRemovedByEpochs, Int(n / 3))
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.count("SELECT count(*) FROM items"), n - n / 3)
        XCTAssertEqual(try reader.count("SELECT count(*) FROM items WHERE id % 3 = 0"), 0)
    }

    func testStaleRowsAreRemovedAndNewerChangesKept() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        let items = Fixture.items
        // History the replica saw; then the log lost events (deletes of 2 and 3 never arrive).
        try sink.apply([
            Fixture.insert(1, items, Fixture.item(1, "a")),
            Fixture.insert(2, items, Fixture.item(2, "stale")),
            Fixture.insert(3, items, Fixture.item(3, "stale too")),
        ])
        // A row someone wrote into the read model by hand, with no version at all.
        let writer = try Connection(path: path)
        try writer.execute(#"INSERT INTO items VALUES (99, 'foreign', 0, 0.0)"#)
        try writer.close()

        let summary = try sink.apply([
            Fixture.epochStart(100, tables: ["items"]),
            Fixture.snapshot(101, items, Fixture.item(1, "a (snapshot)")),
            Fixture.insert(102, items, Fixture.item(4, "streamed during the epoch")),
            Fixture.snapshot(103, items, Fixture.item(5, "only in snapshot")),
            Fixture.epochEnd(104, epoch: 100, tables: ["items"]),
        ])
        XCTAssertEqual(summary.rowsRemovedByEpochs, 3)
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.rows("items"), [
            Fixture.item(1, "a (snapshot)"), Fixture.item(4, "streamed during the epoch"), Fixture.item(5, "only in snapshot"),
        ])
        XCTAssertEqual(try reader.count("SELECT count(*) FROM _cdc_row_versions WHERE version < 100"), 0)

        // Events from before the epoch, replayed, change nothing: the floor covers them.
        try sink.apply([Fixture.insert(2, items, Fixture.item(2, "stale")), Fixture.update(50, items, from: Fixture.item(1, "a"), to: Fixture.item(1, "old"))])
        XCTAssertEqual(try reader.rows("items").count, 3)
        XCTAssertEqual(try reader.rows("items").first, Fixture.item(1, "a (snapshot)"))
        // Newer changes still apply.
        try sink.apply([Fixture.delete(105, items, Fixture.item(5, "only in snapshot"))])
        XCTAssertEqual(try reader.rows("items").map { $0[0] }, [.integer(1), .integer(4)])
    }

    func testEpochOnlyTouchesItsTables() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        let other = TableSchema(name: "other", version: 1, columns: [ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1)])
        try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "a")), Fixture.insert(2, other, [.integer(1)])])
        try sink.apply([Fixture.epochStart(10, tables: ["items"]), Fixture.epochEnd(11, epoch: 10, tables: ["items"])])
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.rows("items"), [], "an epoch with no rows for items empties it")
        XCTAssertEqual(try reader.rows("other"), [[.integer(1)]])
    }

    func testEpochMarkersShuffledWithTheRowsConverge() throws {
        let items = Fixture.items
        let before = [Fixture.insert(1, items, Fixture.item(1, "a")), Fixture.insert(2, items, Fixture.item(2, "gone"))]
        let epoch = [
            Fixture.epochStart(10, tables: ["items"]),
            Fixture.snapshot(11, items, Fixture.item(1, "a")),
            Fixture.epochEnd(12, epoch: 10, tables: ["items"]),
            Fixture.update(13, items, from: Fixture.item(1, "a"), to: Fixture.item(1, "b")),
        ]
        var results: [[[SQLiteValue]]] = []
        for (i, order) in [epoch, epoch.reversed(), [epoch[2], epoch[0], epoch[3], epoch[1]]].enumerated() {
            let path = folder.path("r\(i).db")
            let sink = try SQLiteSink(replicaPath: path)
            try sink.apply(before)
            try sink.apply(order)
            try sink.apply(before + epoch)
            results.append(try ReplicaReader(path: path).rows("items"))
        }
        XCTAssertEqual(results[0], [Fixture.item(1, "b")])
        XCTAssertEqual(results[1], results[0])
        XCTAssertEqual(results[2], results[0])
    }
}
