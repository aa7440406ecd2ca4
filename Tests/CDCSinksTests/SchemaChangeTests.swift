import CDCCore
import CDCSQLite
import CDCSinks
import CDCTransport
import XCTest

/// Schema evolution of the read model: added, renamed and dropped columns and renamed, created
/// and dropped tables are followed where the projection allows; everything else stops with
/// the table, the change and the LSN, keeping nothing of the change.
final class SchemaChangeTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    static let v1 = Fixture.items
    /// v1 plus `colour TEXT NOT NULL DEFAULT 'none'` (ALTER TABLE ADD COLUMN).
    static var v2: TableSchema {
        var s = Fixture.items
        s.version = 2
        s.columns.append(ColumnSchema(name: "colour", declaredType: "TEXT", isNotNull: true, defaultSQL: "'none'"))
        return s
    }
    /// v1 with `name` renamed to `title` (ALTER TABLE RENAME COLUMN: same position).
    static var renamed: TableSchema {
        var s = Fixture.items
        s.version = 2
        s.columns[1].name = "title"
        return s
    }
    /// v1 without `qty` (ALTER TABLE DROP COLUMN).
    static var withoutQty: TableSchema {
        var s = Fixture.items
        s.version = 2
        s.columns.remove(at: 2)
        return s
    }

    static func schemaEvent(_ lsn: Int64, _ kind: SchemaChange.Kind, _ schema: TableSchema, previous: String? = nil) -> Event {
        Fixture.event(lsn, .schema(SchemaChange(table: schema.name, kind: kind, previousName: previous, schema: schema)))
    }

    func columns(_ path: String, _ table: String = "items") throws -> [String] {
        try ReplicaReader(path: path).connection.tableSchema(table).columnNames
    }

    // MARK: ADD COLUMN

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

    /// WAL capture announces ADD COLUMN by a schema event and no row event: the read model
    /// takes the column at once, old rows with the value the source gives them (the default,
    /// with the column's affinity; NULL without one).
    func testAlterEventAddsColumnsBeforeAnyRowChanges() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        var v3 = Self.v2
        v3.version = 3
        v3.columns.append(ColumnSchema(name: "weight", declaredType: "REAL", defaultSQL: "2"))
        v3.columns.append(ColumnSchema(name: "note", declaredType: ""))
        try sink.apply([Self.schemaEvent(2, .alter, Self.v2), Self.schemaEvent(3, .alter, v3)])
        XCTAssertEqual(try columns(path), ["id", "name", "qty", "price", "colour", "weight", "note"])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [Fixture.item(1, "a") + [.string("none"), .real(2), .null]])
        // A replayed older alter changes nothing.
        try sink.apply([Self.schemaEvent(2, .alter, Self.v2)])
        XCTAssertEqual(try columns(path).count, 7)
    }

    func testProjectionListingColumnsDoesNotTakeAddedOnes() throws {
        let path = folder.path("read.db")
        let projection = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id"), .init(source: "name", target: "label")])])
        let sink = try SQLiteSink(replicaPath: path, projection: projection)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a")), Self.schemaEvent(2, .alter, Self.v2),
                        Fixture.insert(3, Self.v2, Fixture.item(3, "c") + [.string("red")])])
        XCTAssertEqual(try columns(path), ["id", "label"])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [[.integer(1), .string("a")], [.integer(3), .string("c")]])
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

    // MARK: RENAME COLUMN

    func testRenamedColumnIsRenamedInPlaceWithItsValues() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a")), Fixture.insert(2, Self.v1, Fixture.item(2, "b"))])
        try sink.apply([Self.schemaEvent(3, .alter, Self.renamed)])
        XCTAssertEqual(try columns(path), ["id", "title", "qty", "price"])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [Fixture.item(1, "a"), Fixture.item(2, "b")])
        // Events of the new schema, and an older event reordered after the change (newer for
        // its key): its `name` lands in `title`.
        try sink.apply([Fixture.insert(5, Self.renamed, Fixture.item(5, "e")), Fixture.insert(4, Self.v1, Fixture.item(4, "d"))])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items").map { $0[1] }, [.string("a"), .string("b"), .string("d"), .string("e")])
    }

    /// Change-table capture announces no schema change: the first event of the new version
    /// carries it, and the rename is followed the same way.
    func testRenameCarriedOnlyByAChangeEventIsFollowed() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        try sink.close()
        // Also across a restart: the applied schema is stored in the replica.
        let reopened = try SQLiteSink(replicaPath: path)
        try reopened.apply([Fixture.update(2, Self.renamed, from: Fixture.item(1, "a"), to: Fixture.item(1, "a", qty: 9))])
        XCTAssertEqual(try columns(path), ["id", "title", "qty", "price"])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [Fixture.item(1, "a", qty: 9)])
    }

    func testProjectionNamingARenamedColumnStopsAndContinuesOnceFixed() throws {
        let path = folder.path("read.db")
        let listing = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id"), .init(source: "name")])])
        let sink = try SQLiteSink(replicaPath: path, projection: listing)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        let batch = [Self.schemaEvent(2, .alter, Self.renamed), Fixture.insert(3, Self.renamed, Fixture.item(3, "c"))]
        XCTAssertThrowsError(try sink.apply(batch)) { error in
            guard case SinkError.projectionOutdated(let table, let change, let lsn, let fix)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, LSN(2))
            XCTAssertEqual(change, "column \"name\" was renamed to \"title\"")
            XCTAssertTrue(fix.contains("{\"name\": \"title\", \"as\": \"name\"}"), fix)
            XCTAssertFalse("\(error)".contains("\n"))
        }
        XCTAssertEqual(try sink.appliedLSN, LSN(1))
        try sink.close()
        // The projection as the message says: the read model keeps its column name.
        let fixed = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id"), .init(source: "title", target: "name")])])
        let again = try SQLiteSink(replicaPath: path, projection: fixed)
        try again.apply(batch)
        XCTAssertEqual(try columns(path), ["id", "name"])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [[.integer(1), .string("a")], [.integer(3), .string("c")]])
    }

    func testFilterOnARenamedColumnStops() throws {
        let projection = Projection(tables: ["items": .init(source: "items", filter: RowFilter(column: "name", op: .equal, values: [.string("a")]))])
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"), projection: projection)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        XCTAssertThrowsError(try sink.apply([Self.schemaEvent(2, .alter, Self.renamed)])) { error in
            guard case SinkError.projectionOutdated(_, _, _, let fix)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertTrue(fix.contains("where.column to \"title\""), fix)
        }
    }

    // MARK: DROP COLUMN

    func testDroppedColumnIsDroppedFromTheReadModel() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a", qty: 3))])
        try sink.apply([Self.schemaEvent(2, .alter, Self.withoutQty)])
        XCTAssertEqual(try columns(path), ["id", "name", "price"])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [[.integer(1), .string("a"), .real(1.5)]])
        // An older event newer for its key: its dropped column is left out.
        try sink.apply([Fixture.insert(3, Self.withoutQty, [.integer(3), .string("c"), .real(2)]), Fixture.insert(2, Self.v1, Fixture.item(2, "b", qty: 7))])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items").map(\.count), [3, 3, 3])
    }

    func testProjectionNamingADroppedColumnStopsAndContinuesWithoutIt() throws {
        let path = folder.path("read.db")
        let listing = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id"), .init(source: "qty")])])
        let sink = try SQLiteSink(replicaPath: path, projection: listing)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        XCTAssertThrowsError(try sink.apply([Self.schemaEvent(7, .alter, Self.withoutQty)])) { error in
            guard case SinkError.projectionOutdated(let table, let change, let lsn, let fix)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, LSN(7))
            XCTAssertEqual(change, "column \"qty\" was dropped")
            XCTAssertTrue(fix.contains("remove \"qty\""), fix)
        }
        XCTAssertEqual(try columns(path), ["id", "qty"], "nothing of the change was kept")
        try sink.close()
        let fixed = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id")])])
        try SQLiteSink(replicaPath: path, projection: fixed).apply([Self.schemaEvent(7, .alter, Self.withoutQty)])
        XCTAssertEqual(try columns(path), ["id"])
    }

    // MARK: Changes the sink does not take

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
        XCTAssertThrowsError(try sink.apply([Self.schemaEvent(3, .alter, rekeyed)])) { error in
            guard case SinkError.unsupportedSchemaChange(let table, let change, let lsn)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, LSN(3))
            XCTAssertTrue(change.contains("primary key"), change)
        }
        XCTAssertEqual(try sink.appliedLSN, LSN(1))
    }

    /// Syncing from a log, the events before the change are kept and the offset stands right
    /// before it (before its source transaction, for a row change), so a run with a fixed
    /// projection continues there.
    func testSyncStopsRightBeforeTheChange() throws {
        let log = try EventLog(path: folder.path("events.db"), create: true)
        try log.append([Fixture.insert(1, Self.v1, Fixture.item(1, "a")), Fixture.insert(2, Self.v1, Fixture.item(2, "b")),
                        Self.schemaEvent(3, .alter, Self.renamed), Fixture.insert(4, Self.renamed, Fixture.item(4, "d"))])
        let path = folder.path("read.db")
        let listing = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id"), .init(source: "name")])])
        let sink = try SQLiteSink(replicaPath: path, projection: listing)
        XCTAssertThrowsError(try sink.sync(from: log)) { XCTAssertEqual(($0 as? SinkError).flatMap { if case .projectionOutdated(_, _, let l, _) = $0 { l } else { nil } }, LSN(3)) }
        XCTAssertEqual(try sink.appliedLSN, LSN(2))
        try sink.close()
        let fixed = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id"), .init(source: "title", target: "name")])])
        try SQLiteSink.validate(fixed, against: log)
        XCTAssertEqual(try SQLiteSink(replicaPath: path, projection: fixed).sync(from: log), 2)
        XCTAssertEqual(try ReplicaReader(path: path).rows("items").count, 3)
        // The old projection still passes validation (the table changed shape: the column may
        // be a renamed one), so a sink behind the change can reach it.
        XCTAssertNoThrow(try SQLiteSink.validate(listing, against: log))
    }

    // MARK: Tables

    func testRenamedTableKeepsItsRowsUnderTheNewName() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a")), Fixture.insert(2, Self.v1, Fixture.item(2, "b"))])
        var moved = Self.v1
        moved.name = "goods"
        moved.version = 2
        try sink.apply([Self.schemaEvent(3, .rename, moved, previous: "items")])
        let reader = try ReplicaReader(path: path)
        XCTAssertEqual(try reader.connection.userTableNames(), ["goods"])
        XCTAssertEqual(try reader.rows("goods"), [Fixture.item(1, "a"), Fixture.item(2, "b")])
        // The versions moved along: an older event of the key under the new name is skipped,
        // and a replay under the old name does not bring the old table back.
        XCTAssertEqual(try sink.apply([Fixture.insert(2, moved, Fixture.item(2, "old"))]).skipped, 1)
        XCTAssertEqual(try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a")), Self.schemaEvent(3, .rename, moved, previous: "items")]).applied, 0)
        XCTAssertEqual(try reader.connection.userTableNames(), ["goods"])
        XCTAssertEqual(try reader.rows("goods"), [Fixture.item(1, "a"), Fixture.item(2, "b")])
    }

    func testProjectionNamingARenamedTableStopsAndContinuesOnceFixed() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path, projection: Projection(tables: ["items": .init(source: "items", target: "catalogue")]))
        try sink.apply([Fixture.insert(1, Self.v1, Fixture.item(1, "a"))])
        var moved = Self.v1
        moved.name = "goods"
        moved.version = 2
        let rename = Self.schemaEvent(2, .rename, moved, previous: "items")
        XCTAssertThrowsError(try sink.apply([rename])) { error in
            guard case SinkError.projectionOutdated(let table, let change, let lsn, let fix)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, LSN(2))
            XCTAssertEqual(change, "the table was renamed to \"goods\"")
            XCTAssertTrue(fix.contains("\"as\": \"catalogue\""), fix)
        }
        XCTAssertEqual(try ReplicaReader(path: path).rows("catalogue"), [Fixture.item(1, "a")], "nothing was dropped")
        try sink.close()
        let again = try SQLiteSink(replicaPath: path, projection: Projection(tables: ["goods": .init(source: "goods", target: "catalogue")]))
        try again.apply([rename, Fixture.insert(3, moved, Fixture.item(3, "c"))])
        XCTAssertEqual(try ReplicaReader(path: path).rows("catalogue"), [Fixture.item(1, "a"), Fixture.item(3, "c")])
    }

    func testCreatedTableAppearsEmptyAndADroppedOneGoes() throws {
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        try sink.apply([Self.schemaEvent(1, .create, Self.v1)])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [])
        try sink.apply([Fixture.insert(2, Self.v1, Fixture.item(1, "a")), Self.schemaEvent(3, .alter, Self.v2), Self.schemaEvent(4, .drop, Self.v2)])
        XCTAssertEqual(try ReplicaReader(path: path).connection.userTableNames(), [])
        // Created again with another shape, at version 1 again: a new table, which evolves.
        let other = TableSchema(name: "items", version: 1, columns: [ColumnSchema(name: "sku", declaredType: "TEXT", primaryKeyPosition: 1)])
        var otherV2 = other
        otherV2.version = 2
        otherV2.columns.append(ColumnSchema(name: "n", declaredType: "INTEGER"))
        try sink.apply([Self.schemaEvent(5, .create, other), Fixture.insert(6, other, [.string("x")]), Self.schemaEvent(7, .alter, otherV2)])
        XCTAssertEqual(try columns(path), ["sku", "n"])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [[.string("x"), .null]])
        // A replay of the old drop does not empty the new table.
        try sink.apply([Self.schemaEvent(4, .drop, Self.v2)])
        XCTAssertEqual(try ReplicaReader(path: path).rows("items").count, 1)
    }
}
