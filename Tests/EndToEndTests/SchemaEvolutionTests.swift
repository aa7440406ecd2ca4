import CDCCapture
import CDCCore
import CDCReconcile
import CDCSinks
import CDCSQLite
import CDCTestSupport
import CDCTransport
import Foundation
import XCTest

/// Schema evolution end to end: a real SQLite source changes its schema, WAL capture writes
/// the events to an event log, one long-lived read model follows them through the sink, and
/// after every step replica-check must call it consistent (or the sink must stop with a
/// one-line error naming the table, the change and the LSN, its offset right before it).
final class SchemaEvolutionTests: XCTestCase {
    /// A source, its event log, WAL capture and one read model that follows every step.
    final class Pipeline {
        let dir: TemporaryDirectory
        let writer: Connection
        let log: EventLog
        let capture: WALCapture
        var projection: Projection

        init(_ name: String, schema: String, projection: Projection = .identity) throws {
            dir = try TemporaryDirectory(prefix: "schema-\(name)")
            writer = try Connection(path: dir.path("source.db"), mode: .create)
            try writer.execute("PRAGMA journal_mode=WAL")
            try writer.execute("PRAGMA wal_autocheckpoint=0")
            try writer.execute(schema)
            log = try EventLog(path: dir.path("events.db"), create: true)
            var options = WALCapture.Options()
            options.checkpointThresholdFrames = 200
            capture = try WALCapture(sourcePath: dir.path("source.db"), log: log, service: "svc", logger: .silent, options: options)
            self.projection = projection
        }

        var replicaPath: String { dir.path("replica.db") }

        /// Runs SQL on the source, captures it, and applies the new events to the read model.
        /// - Returns: the captured events.
        @discardableResult
        func step(_ sql: String) throws -> [Event] {
            let before = try log.lastLSN()
            try writer.execute(sql)
            try capture.captureAvailable()
            let events = try log.read(after: before, limit: 1_000_000)
            try sync()
            return events
        }

        /// Applies what the log holds beyond the read model's offset (the sink is opened and
        /// closed, as a `cdc-sink` run would).
        func sync() throws {
            let sink = try SQLiteSink(replicaPath: replicaPath, projection: projection)
            defer { try? sink.close() }
            try SQLiteSink.validate(projection, against: log)
            try sink.sync(from: log, batchSize: 7)
        }

        var appliedLSN: LSN {
            get throws {
                let sink = try SQLiteSink(replicaPath: replicaPath, projection: projection)
                defer { try? sink.close() }
                return try sink.appliedLSN
            }
        }

        func check() throws -> CheckReport {
            try ReplicaChecker(sourcePath: dir.path("source.db"), replicaPath: replicaPath, projection: projection).run()
        }

        func replicaColumns(_ table: String) throws -> [String] {
            try Connection(path: replicaPath, mode: .readOnly).tableSchema(table).columnNames
        }

        func replicaTables() throws -> [String] {
            try Connection(path: replicaPath, mode: .readOnly).userTableNames()
        }
    }

    static let items = """
        CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, price REAL);
        INSERT INTO items(name, qty, price) VALUES ('apple', 3, 0.5), ('pear', NULL, 1.25), ('fig', 7, -0.0);
        CREATE TABLE pairs(a TEXT, b INTEGER, note, PRIMARY KEY(b, a)) WITHOUT ROWID;
        INSERT INTO pairs VALUES ('x', 1, 'one'), ('y', 2, x'00ff');
        """

    func assertConsistent(_ p: Pipeline, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let report = try p.check()
        XCTAssertTrue(report.isConsistent, "\(label): \(report.render(json: false))", file: file, line: line)
    }

    /// The schema events of a step, as "kind previous->table".
    static func schemaEvents(_ events: [Event]) -> [String] {
        events.compactMap { e in
            guard case .schema(let s) = e.body else { return nil }
            return "\(s.kind.rawValue) \(s.previousName)->\(s.table)"
        }
    }

    func testAddColumnWithAndWithoutDefault() throws {
        let p = try Pipeline("add", schema: Self.items)
        try p.step("SELECT 1")
        try assertConsistent(p, "initial")
        // No row changes with an ADD COLUMN: the old rows read the default in the source, and
        // the read model must show the same at once.
        XCTAssertEqual(Self.schemaEvents(try p.step("ALTER TABLE items ADD COLUMN colour TEXT NOT NULL DEFAULT 'none'")), ["alter items->items"])
        try assertConsistent(p, "text default")
        try p.step("ALTER TABLE items ADD COLUMN note")
        try assertConsistent(p, "no default")
        // The default with the column's affinity: 2 in a REAL column reads 2.0; '7' in an
        // INTEGER column reads 7; a blob default; a negative number.
        try p.step("ALTER TABLE items ADD COLUMN weight REAL DEFAULT 2; ALTER TABLE items ADD COLUMN n INTEGER DEFAULT '7'; ALTER TABLE items ADD COLUMN b BLOB DEFAULT x'0102'; ALTER TABLE items ADD COLUMN d DEFAULT -1.5")
        try assertConsistent(p, "defaults with affinity")
        XCTAssertEqual(try p.replicaColumns("items"), ["id", "name", "qty", "price", "colour", "note", "weight", "n", "b", "d"])
        try p.step("UPDATE items SET colour = 'red', note = 1 WHERE id = 1; INSERT INTO items(name) VALUES ('kiwi')")
        try assertConsistent(p, "rows after the change")
    }

    func testRenameColumn() throws {
        let p = try Pipeline("rename-column", schema: Self.items)
        try p.step("SELECT 1")
        XCTAssertEqual(Self.schemaEvents(try p.step("ALTER TABLE items RENAME COLUMN name TO title")), ["alter items->items"])
        XCTAssertEqual(try p.replicaColumns("items"), ["id", "title", "qty", "price"])
        try assertConsistent(p, "renamed")
        // The last column, and a key column of a WITHOUT ROWID table.
        try p.step("ALTER TABLE items RENAME COLUMN price TO cost; ALTER TABLE pairs RENAME COLUMN a TO k")
        try assertConsistent(p, "renamed last and key columns")
        try p.step("UPDATE items SET title = 'APPLE', cost = 9 WHERE id = 1; INSERT INTO pairs VALUES ('z', 3, NULL)")
        try assertConsistent(p, "rows after the rename")
        // Renamed and added in one transaction.
        try p.step("BEGIN; ALTER TABLE items RENAME COLUMN qty TO amount; ALTER TABLE items ADD COLUMN weight INTEGER DEFAULT 5; COMMIT")
        XCTAssertEqual(try p.replicaColumns("items"), ["id", "title", "amount", "cost", "weight"])
        try assertConsistent(p, "renamed and added")
    }

    /// Renaming a column and adding one under its old name in one transaction reads the old
    /// rows by position (the renamed column keeps the values); a rebuild that inserts a column
    /// in its place reads them by name. The events cannot tell the two apart, so the sink
    /// stops before the change rather than guess.
    func testAmbiguousColumnStepStopsBeforeIt() throws {
        let p = try Pipeline("ambiguous", schema: Self.items)
        try p.step("SELECT 1")
        let before = try p.log.lastLSN()
        try p.writer.execute("BEGIN; ALTER TABLE items RENAME COLUMN qty TO amount; ALTER TABLE items ADD COLUMN qty INTEGER DEFAULT 5; COMMIT")
        try p.capture.captureAvailable()
        XCTAssertThrowsError(try p.sync()) { error in
            guard case SinkError.unsupportedSchemaChange(let table, let change, let lsn)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, before.next)
            XCTAssertTrue(change.contains("\"qty\" moved while new column(s) \"amount\""), change)
        }
        XCTAssertEqual(try p.appliedLSN, before)
        XCTAssertEqual(try p.replicaColumns("items"), ["id", "name", "qty", "price"], "nothing of the change was kept")
    }

    func testDropColumn() throws {
        let p = try Pipeline("drop-column", schema: Self.items)
        try p.step("SELECT 1")
        try p.step("ALTER TABLE items DROP COLUMN qty")
        XCTAssertEqual(try p.replicaColumns("items"), ["id", "name", "price"])
        try assertConsistent(p, "dropped")
        // Dropped and added in one transaction, and dropped then renamed: capture reads the
        // old rows by position or by name, and the read model must follow it exactly.
        try p.step("BEGIN; ALTER TABLE items DROP COLUMN price; ALTER TABLE items ADD COLUMN price REAL DEFAULT 1; COMMIT")
        try assertConsistent(p, "dropped and added under the same name")
        try p.step("BEGIN; ALTER TABLE items ADD COLUMN a INTEGER DEFAULT 1; ALTER TABLE items ADD COLUMN b INTEGER DEFAULT 2; COMMIT")
        try p.step("BEGIN; ALTER TABLE items DROP COLUMN a; ALTER TABLE items RENAME COLUMN b TO c; COMMIT")
        try assertConsistent(p, "dropped one, renamed the next")
        try p.step("BEGIN; ALTER TABLE items DROP COLUMN c; ALTER TABLE items ADD COLUMN d INTEGER DEFAULT 2; COMMIT")
        try assertConsistent(p, "dropped the last, added another in its place")
        try p.step("UPDATE items SET d = 3 WHERE id = 2")
        try assertConsistent(p, "rows after the drop")
    }

    func testRenameTable() throws {
        let p = try Pipeline("rename-table", schema: Self.items)
        try p.step("SELECT 1")
        XCTAssertEqual(Self.schemaEvents(try p.step("ALTER TABLE items RENAME TO goods")), ["rename items->goods"])
        XCTAssertEqual(try p.replicaTables(), ["goods", "pairs"])
        try assertConsistent(p, "renamed")
        try p.step("INSERT INTO goods(name) VALUES ('plum'); DELETE FROM goods WHERE id = 1")
        try assertConsistent(p, "rows after the rename")
    }

    func testNewTableAndDroppedTable() throws {
        let p = try Pipeline("tables", schema: Self.items)
        try p.step("SELECT 1")
        XCTAssertEqual(Self.schemaEvents(try p.step("CREATE TABLE tags(tag TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID")), ["create tags->tags"])
        XCTAssertEqual(try p.replicaTables(), ["items", "pairs", "tags"], "a new empty table appears at once")
        try assertConsistent(p, "new empty table")
        try p.step("INSERT INTO tags VALUES ('a', 1), ('b', 2)")
        try assertConsistent(p, "new table's rows")
        XCTAssertEqual(Self.schemaEvents(try p.step("DROP TABLE tags")), ["drop tags->tags"])
        XCTAssertEqual(try p.replicaTables(), ["items", "pairs"])
        try assertConsistent(p, "dropped")
        try p.step("CREATE TABLE tags(id INTEGER PRIMARY KEY, label TEXT); INSERT INTO tags(label) VALUES ('again')")
        try assertConsistent(p, "created again with another shape")
    }

    /// A rebuild (what sqlite-utils transform and hand-written migrations do): create the new
    /// table, copy, drop the old, rename the new to the old name.
    func testTableRebuild() throws {
        let p = try Pipeline("rebuild", schema: Self.items)
        try p.step("SELECT 1")
        // In one transaction: an alter, then updates for the rows whose values changed.
        let events = try p.step("""
            BEGIN;
            CREATE TABLE items_new(id INTEGER PRIMARY KEY, price REAL, name TEXT NOT NULL, qty INTEGER, added TEXT DEFAULT 'x');
            INSERT INTO items_new(id, price, name, qty) SELECT id, price, upper(name), qty FROM items;
            DROP TABLE items;
            ALTER TABLE items_new RENAME TO items;
            COMMIT;
            """)
        XCTAssertEqual(Self.schemaEvents(events), ["alter items->items"])
        try assertConsistent(p, "rebuilt in one transaction (columns reordered, one added, values changed)")
        // Spread over several transactions: the new table under its temporary name, a drop,
        // a rename.
        try p.step("CREATE TABLE items_new(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, price REAL, added TEXT DEFAULT 'x')")
        try p.step("INSERT INTO items_new SELECT id, lower(name), qty, price, added FROM items")
        try assertConsistent(p, "copy")
        try p.step("DROP TABLE items")
        try p.step("ALTER TABLE items_new RENAME TO items")
        XCTAssertEqual(try p.replicaTables(), ["items", "pairs"])
        try assertConsistent(p, "rebuilt over several transactions")
    }

    /// A rebuild that changes a declared type cannot be followed in place: the sink stops
    /// with the table, the change and the LSN, its offset right before the change.
    func testTableRebuildWithAnotherTypeStopsBeforeIt() throws {
        let p = try Pipeline("retype", schema: Self.items)
        try p.step("SELECT 1")
        let before = try p.log.lastLSN()
        try p.writer.execute("""
            BEGIN;
            CREATE TABLE items_new(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty TEXT, price REAL);
            INSERT INTO items_new SELECT * FROM items;
            DROP TABLE items;
            ALTER TABLE items_new RENAME TO items;
            COMMIT;
            """)
        try p.capture.captureAvailable()
        XCTAssertThrowsError(try p.sync()) { error in
            guard case SinkError.unsupportedSchemaChange(let table, let change, let lsn)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, before.next)
            XCTAssertTrue(change.contains("declared type"), change)
            XCTAssertFalse("\(error)".contains("\n"))
        }
        XCTAssertEqual(try p.appliedLSN, before)
    }

    /// A projection that names a column a change renamed: the sink stops at the change and
    /// says what to change; with the projection changed so, the same replica continues.
    func testProjectionNamingARenamedColumnStopsThenContinues() throws {
        let listing = Projection(tables: ["items": .init(source: "items", target: "menu", columns: [.init(source: "id"), .init(source: "name")])])
        let p = try Pipeline("projection", schema: Self.items, projection: listing)
        try p.step("SELECT 1")
        try assertConsistent(p, "initial")
        let before = try p.log.lastLSN()
        try p.writer.execute("ALTER TABLE items RENAME COLUMN name TO title; UPDATE items SET title = 'FIG' WHERE id = 3")
        try p.capture.captureAvailable()
        XCTAssertThrowsError(try p.sync()) { error in
            guard case SinkError.projectionOutdated(let table, let change, let lsn, let fix)? = error as? SinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "items")
            XCTAssertEqual(lsn, before.next)
            XCTAssertEqual(change, "column \"name\" was renamed to \"title\"")
            XCTAssertTrue(fix.contains("{\"name\": \"title\", \"as\": \"name\"}"), fix)
        }
        XCTAssertEqual(try p.appliedLSN, before)
        p.projection = Projection(tables: ["items": .init(source: "items", target: "menu", columns: [.init(source: "id"), .init(source: "title", target: "name")])])
        try p.sync()
        try assertConsistent(p, "continued with the changed projection")
        // A dropped column the projection does not name is no concern of this read model.
        try p.step("ALTER TABLE items DROP COLUMN qty")
        try assertConsistent(p, "unnamed column dropped")
    }

    /// Change-table (trigger) mode: the agent rebuilds its triggers after ADD or RENAME COLUMN
    /// and announces an `alter` schema event, so the read model follows before any row of the
    /// table changes; the next change events carry the new schema version.
    func testTriggerModeColumnChangesReachTheReadModel() throws {
        let dir = try TemporaryDirectory(prefix: "schema-triggers")
        let db = dir.path("svc.db"), replica = dir.path("read.db")
        let service = try Connection(path: db, mode: .create)
        try service.execute("PRAGMA journal_mode=WAL")
        try service.execute(Self.items)
        _ = try ChangeTableInstaller(connection: service, logger: .silent).install(tables: nil)
        let log = try EventLog(path: dir.path("events.db"), create: true)
        let capture = try ChangeTableCapture(sourcePath: db, log: log, service: "svc", logger: .silent)
        func step(_ sql: String) throws -> CheckReport {
            try service.execute(sql)
            try capture.captureAvailable()
            let sink = try SQLiteSink(replicaPath: replica)
            try sink.sync(from: log)
            try sink.close()
            return try ReplicaChecker(sourcePath: db, replicaPath: replica).run()
        }
        XCTAssertTrue(try step("SELECT 1").isConsistent)
        let added = try step("ALTER TABLE items ADD COLUMN colour TEXT DEFAULT 'none'")
        XCTAssertTrue(added.isConsistent, "the column is there before any row changes: \(added.render(json: false))")
        XCTAssertTrue(try step("UPDATE items SET colour = 'red' WHERE id = 1").isConsistent)
        let renamedOnly = try step("ALTER TABLE items RENAME COLUMN name TO title")
        XCTAssertTrue(renamedOnly.isConsistent, renamedOnly.render(json: false))
        let renamed = try step("UPDATE items SET qty = 1 WHERE id = 2")
        XCTAssertTrue(renamed.isConsistent, renamed.render(json: false))
        XCTAssertEqual(try Connection(path: replica, mode: .readOnly).tableSchema("items").columnNames, ["id", "title", "qty", "price", "colour"])
        try capture.close()
    }
    /// Change-table mode announces a renamed and a dropped table as schema events, found at its
    /// schema check, both while it runs and when it starts after them: the read model renames
    /// the table with its rows and drops the dropped one, instead of starting an empty table
    /// under the new name and keeping the old rows.
    func testTriggerModeRenamedAndDroppedTablesReachTheReadModel() throws {
        for whileRunning in [true, false] {
            let dir = try TemporaryDirectory(prefix: "schema-triggers-tables")
            let db = dir.path("svc.db"), replica = dir.path("read.db")
            let service = try Connection(path: db, mode: .create)
            try service.execute("PRAGMA journal_mode=WAL")
            try service.execute(Self.items)
            try service.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'n')")
            _ = try ChangeTableInstaller(connection: service, logger: .silent).install(tables: nil)
            let log = try EventLog(path: dir.path("events.db"), create: true)
            var capture = try ChangeTableCapture(sourcePath: db, log: log, service: "svc", logger: .silent)
            func sync() throws -> CheckReport {
                let sink = try SQLiteSink(replicaPath: replica)
                try sink.sync(from: log)
                try sink.close()
                return try ReplicaChecker(sourcePath: db, replicaPath: replica).run()
            }
            try capture.captureAvailable()
            XCTAssertTrue(try sync().isConsistent)
            if !whileRunning { try capture.close() }
            let mark = try log.lastLSN()
            try service.execute("""
                UPDATE items SET qty = 5 WHERE id = 1; ALTER TABLE items RENAME TO products;
                UPDATE products SET qty = 6 WHERE id = 2; DROP TABLE notes;
                """)
            if !whileRunning { capture = try ChangeTableCapture(sourcePath: db, log: log, service: "svc", logger: .silent) }
            try capture.captureAvailable()
            let announced = try log.read(after: mark, limit: 100).compactMap { event -> String? in
                if case .schema(let s) = event.body { return "\(s.kind.rawValue) \(s.previousName) \(s.table) v\(s.schema.version)" }
                return nil
            }
            XCTAssertEqual(announced, ["rename items products v2", "drop notes notes v1"], "while running: \(whileRunning)")
            let report = try sync()
            XCTAssertTrue(report.isConsistent, report.render(json: false))
            let tables = try Connection(path: replica, mode: .readOnly).userTableNames()
            XCTAssertEqual(tables, ["pairs", "products"], "while running: \(whileRunning)")
            try capture.close()
        }
    }
}
