import CDCWorkload
import CDCCore
import CDCSQLite
import CDCSinks
import XCTest

/// Promise 3: replaying, duplicating or re-delivering events never changes the final state.
final class IdempotenceTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    /// A history touching keys repeatedly: inserts, updates, a primary-key change, deletes
    /// and a re-insert of a deleted key, over two tables.
    static var history: [Event] {
        let items = Fixture.items
        let tags = TableSchema(name: "tags", version: 1, columns: [
            ColumnSchema(name: "item", declaredType: "INTEGER", primaryKeyPosition: 1),
            ColumnSchema(name: "tag", declaredType: "TEXT", primaryKeyPosition: 2),
        ], isWithoutRowID: true)
        return [
            Fixture.insert(1, items, Fixture.item(1, "a")),
            Fixture.insert(2, items, Fixture.item(2, "b")),
            Fixture.insert(3, tags, [.integer(1), .string("red")]),
            Fixture.update(4, items, from: Fixture.item(1, "a"), to: Fixture.item(1, "a2", qty: 5)),
            Fixture.update(5, items, from: Fixture.item(2, "b"), to: Fixture.item(20, "b")),
            Fixture.delete(6, items, Fixture.item(1, "a2", qty: 5)),
            Fixture.insert(7, items, Fixture.item(2, "new two")),
            Fixture.insert(8, tags, [.integer(2), .string("blue")]),
            Fixture.delete(9, tags, [.integer(1), .string("red")]),
            Fixture.update(10, items, from: Fixture.item(20, "b"), to: Fixture.item(20, "b", qty: 9)),
            Fixture.insert(11, items, Fixture.item(3, "c")),
        ]
    }

    static let expected: [[SQLiteValue]] = [Fixture.item(2, "new two"), Fixture.item(3, "c"), Fixture.item(20, "b", qty: 9)]

    private func finalState(_ batches: [[Event]], name: String) throws -> [String: [[SQLiteValue]]] {
        let path = folder.path(name)
        let sink = try SQLiteSink(replicaPath: path)
        for b in batches { try sink.apply(b) }
        XCTAssertEqual(try sink.appliedLSN, LSN(11))
        try sink.close()
        return try ReplicaReader(path: path).dump()
    }

    func testInOrderHistoryGivesExpectedRows() throws {
        let state = try finalState([Self.history], name: "a.db")
        XCTAssertEqual(state["items"], Self.expected)
        XCTAssertEqual(state["tags"], [[.integer(2), .string("blue")]])
    }

    func testSameBatchTwiceChangesNothing() throws {
        let once = try finalState([Self.history], name: "once.db")
        let twice = try finalState([Self.history, Self.history], name: "twice.db")
        XCTAssertEqual(once, twice)
    }

    func testShuffledDuplicatedAndReversedBatchesConverge() throws {
        let reference = try finalState([Self.history], name: "ref.db")
        var generator = SplitMix64(seed: 42)
        for round in 0..<8 {
            var events = Self.history + Self.history.prefix(round + 2)
            events.shuffle(using: &generator)
            let split = Int(generator.next() % UInt64(events.count))
            let state = try finalState([Array(events[..<split]), Array(events[split...])], name: "shuffled-\(round).db")
            XCTAssertEqual(state, reference, "round \(round)")
        }
        XCTAssertEqual(try finalState([Self.history.reversed()], name: "reversed.db"), reference)
        XCTAssertEqual(try finalState(Self.history.reversed().map { [$0] }, name: "one-by-one-reversed.db"), reference)
    }

    func testReplayedOlderInsertDoesNotResurrectADeletedRow() throws {
        let path = folder.path("t.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "a")), Fixture.delete(2, Fixture.items, Fixture.item(1, "a"))])
        let summary = try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])
        XCTAssertEqual(summary.skipped, 1)
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [])
    }

    func testPrimaryKeyChangeMovesTheRowAndTombstonesTheOldKey() throws {
        let path = folder.path("t.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([
            Fixture.insert(1, Fixture.items, Fixture.item(1, "a")),
            Fixture.update(2, Fixture.items, from: Fixture.item(1, "a"), to: Fixture.item(5, "a")),
        ])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [Fixture.item(5, "a")])
        try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [Fixture.item(5, "a")], "the old key's tombstone blocks the replayed insert")
    }
}
