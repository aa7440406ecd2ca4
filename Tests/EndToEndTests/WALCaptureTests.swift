import CDCCapture
import CDCCore
import CDCReconcile
import CDCSinks
import CDCSQLite
import CDCTestSupport
import CDCTransport
import CDCWorkload
import Foundation
import XCTest

/// WAL capture against the real SQLite library: a seeded writer commits transactions; after
/// each one the test reads every table through SQL (the library's own answer), computes the
/// row changes the transaction made, and requires the captured events to be exactly those.
/// At the end the events, applied by the sink, must give a replica equal to the source.
final class WALCaptureTests: XCTestCase {
    struct Harness {
        let dir: TemporaryDirectory
        let writer: Connection
        let log: EventLog
        let capture: WALCapture
        var lastLSN = LSN.zero

        static let defaultSchema = """
            CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL, photo BLOB);
            CREATE TABLE pairs(a TEXT, b INTEGER, note, PRIMARY KEY(b, a)) WITHOUT ROWID;
            CREATE TABLE "odd ""name"" t"(x, "select" TEXT);
            """

        init(prefix: String, autocheckpoint: Int = 0, schema: String = Harness.defaultSchema, batchSize: Int = 5_000, diffPageBudget: Int = 1_024,
             lingerMilliseconds: Int = 5) throws {
            dir = try TemporaryDirectory(prefix: prefix)
            writer = try Connection(path: dir.path("source.db"), mode: .create)
            try writer.execute("PRAGMA journal_mode=WAL")
            try writer.execute("PRAGMA wal_autocheckpoint=\(autocheckpoint)")
            try writer.execute(schema)
            log = try EventLog(path: dir.path("events.db"), create: true)
            var options = WALCapture.Options()
            options.checkpointThresholdFrames = 200
            options.batchSize = batchSize
            options.diffPageBudget = diffPageBudget
            options.lingerMilliseconds = lingerMilliseconds
            capture = try WALCapture(sourcePath: dir.path("source.db"), log: log, service: "svc", logger: .silent, options: options)
        }

        /// Captures and returns the new events.
        mutating func captured() throws -> [Event] {
            try capture.captureAvailable()
            let events = try log.read(after: lastLSN, limit: 1_000_000)
            lastLSN = events.last?.lsn ?? lastLSN
            return events
        }
    }

    /// Every table's rows through SQL, by key: the library's view of the source.
    static func contents(_ c: Connection) throws -> [String: [[SQLiteValue]: [SQLiteValue]]] {
        try sourceContents(c)
    }

    /// Applies the log (what it holds beyond the replica's offset) to `replica.db` in the
    /// harness's folder, through the sink library.
    /// - Returns: the replica's path.
    static func applyLog(_ h: Harness) throws -> String {
        let replicaPath = h.dir.path("replica.db")
        let sink = try SQLiteSink(replicaPath: replicaPath)
        _ = try sink.sync(from: h.log)
        try sink.close()
        return replicaPath
    }

    /// Applies the log to a new read model and requires replica-check to find it equal to
    /// the source.
    static func assertReplicaConsistent(_ h: Harness, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
        let replicaPath = try applyLog(h)
        let report = try ReplicaChecker(sourcePath: h.dir.path("source.db"), replicaPath: replicaPath).run()
        XCTAssertTrue(report.isConsistent, "\(message)\(report.render(json: false))", file: file, line: line)
    }

    /// One random transaction of 1–12 statements over the three tables.
    static func randomTransaction(_ c: Connection, _ rng: inout SplitMix64, round: Int) throws {
        try c.execute("BEGIN")
        for _ in 0..<(1 + Int(rng.next() % 12)) {
            let key = Int64(rng.next() % 200)
            let big = rng.next() % 10 == 0
            switch rng.next() % 10 {
            case 0..<4:
                let name: SQLiteValue = big ? .string(String(repeating: "n\(key)", count: 900)) : .string("item \(key) r\(round)")
                let photo: SQLiteValue = rng.next() % 3 == 0 ? .null : .blob(Array(repeating: UInt8(truncatingIfNeeded: key), count: big ? 9_000 : 8))
                try c.execute("INSERT OR REPLACE INTO items(id, name, price, photo) VALUES (?, ?, ?, ?)", [.integer(key), name, .real(Double(key) / 4), photo])
                try c.execute("INSERT OR REPLACE INTO pairs VALUES (?, ?, ?)", [.string("k\(key % 17)"), .integer(key % 5), .integer(Int64(round))])
                try c.execute("INSERT INTO \"odd \"\"name\"\" t\" VALUES (?, ?)", [.integer(key), .string("s\(round)")])
            case 4..<6:
                try c.execute("UPDATE items SET price = price + 1, name = ? WHERE id = ?", [.string("renamed \(round)"), .integer(key)])
                try c.execute("UPDATE pairs SET note = ? WHERE b = ?", [.real(-0.0), .integer(key % 5)])
            case 6:
                // A key change: WAL capture sees the old key go and the new one come.
                try c.execute("UPDATE OR REPLACE items SET id = id + 1000 WHERE id = ?", [.integer(key)])
            case 7:
                try c.execute("UPDATE items SET name = ? WHERE id = ?", [.string(String(repeating: "g", count: 5_000)), .integer(key)])
            default:
                try c.execute("DELETE FROM items WHERE id = ?", [.integer(key)])
                try c.execute("DELETE FROM pairs WHERE a = ?", [.string("k\(key % 17)")])
                try c.execute("DELETE FROM \"odd \"\"name\"\" t\" WHERE rowid IN (SELECT rowid FROM \"odd \"\"name\"\" t\" LIMIT 2)")
            }
        }
        try c.execute(rng.next() % 25 == 0 ? "ROLLBACK" : "COMMIT")
    }

    func testEveryTransactionGivesExactlyTheRowChangesSQLiteSees() throws {
        var h = try Harness(prefix: "wal-exact")
        var rng = SplitMix64(seed: 7)
        // The initial epoch, then one capture per transaction.
        let epoch = try h.captured()
        XCTAssertEqual(epoch.first.map { if case .snapshotStart = $0.body { return true } else { return false } }, true)
        var before = try Self.contents(h.writer)
        for round in 0..<150 {
            if round == 60 {
                try h.writer.execute("ALTER TABLE items ADD COLUMN stock INTEGER DEFAULT 5")
                let events = try h.captured()
                XCTAssertEqual(events.map(\.typeName), ["schema"], "adding a column with a default changes no stored row")
                before = try Self.contents(h.writer)
                continue
            }
            try Self.randomTransaction(h.writer, &rng, round: round)
            let after = try Self.contents(h.writer)
            let events = try h.captured()
            XCTAssertEqual(Self.describeValues(events), Self.expectedValueChanges(from: before, to: after), "round \(round)")
            let groups = Set(events.compactMap { $0.change?.transaction.id })
            XCTAssertLessThanOrEqual(groups.count, 1, "one source transaction, one group")
            if let last = events.last?.change { XCTAssertTrue(last.transaction.isLast) }
            before = after
        }
        // After ADD COLUMN, rows written before it read the default: the events said so too.
        try Self.assertReplicaConsistent(h)
    }

    /// Applies events to a by-key picture of the source (what a sink does, minus SQL).
    static func replay(_ events: [Event], onto state: inout [String: [[SQLiteValue]: [SQLiteValue]]]) {
        for e in events {
            switch e.body {
            case .snapshotStart(let epoch):
                for t in epoch.tables { state[t] = [:] }
            case .change(let c):
                switch c.operation {
                case .delete: state[c.table.name, default: [:]][c.key] = nil
                default: state[c.table.name, default: [:]][c.key] = c.after
                }
            default: break
            }
        }
    }

    func testCheckpointsByTheServiceAndOthersLoseNothing() throws {
        // A small autocheckpoint, and TRUNCATE checkpoints from another connection at random;
        // captures after a random number of transactions.
        var h = try Harness(prefix: "wal-ckpt", autocheckpoint: 8)
        // The agent always holds a pin, so a TRUNCATE waits its whole busy timeout and then
        // answers busy (docs/wal-capture-protocol.md, "What the service sees"): keep it short.
        let other = try Connection(path: h.dir.path("source.db"), mode: .readWrite, busyTimeoutMilliseconds: 1)
        var rng = SplitMix64(seed: 11)
        var replayed: [String: [[SQLiteValue]: [SQLiteValue]]] = [:]
        Self.replay(try h.captured(), onto: &replayed)
        var epochs = 0
        for round in 0..<300 {
            try Self.randomTransaction(h.writer, &rng, round: round)
            if rng.next() % 7 == 0 { _ = try other.query("PRAGMA wal_checkpoint(TRUNCATE)") }
            if rng.next() % 3 == 0 { continue }
            let events = try h.captured()
            epochs += events.filter { if case .snapshotStart = $0.body { return true } else { return false } }.count
            Self.replay(events, onto: &replayed)
            let source = try Self.contents(h.writer)
            XCTAssertEqual(replayed.filter { !$0.value.isEmpty }, source.filter { !$0.value.isEmpty }, "round \(round)")
            if replayed != source.merging(replayed.filter { $0.value.isEmpty }, uniquingKeysWith: { a, _ in a }) { break }
        }
        XCTAssertEqual(epochs, 0, "the pins keep every checkpoint from losing a frame: no resync epoch")
        // The WAL did restart meanwhile (the checkpoint sequence, header bytes 12–15, counts
        // restarts: file format §4.1), so the test crossed WAL generations.
        let header = try Data(contentsOf: URL(fileURLWithPath: h.dir.path("source.db-wal"))).prefix(16)
        let sequence = header.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        XCTAssertGreaterThanOrEqual(sequence, 3, "the WAL restarted several times during the test")
        try Self.assertReplicaConsistent(h)
    }

    /// Record layouts SQLite's rules make tricky, each decoded from pages and compared with
    /// what SQLite's own SELECT returns.
    func testRecordLayoutsMatchWhatSQLiteReads() throws {
        var h = try Harness(prefix: "wal-layout", schema: """
            CREATE TABLE reals(id INTEGER PRIMARY KEY, r REAL, f FLOAT, n NUMERIC, i INT, t TEXT, b BLOB, u);
            CREATE TABLE desc_key(id INTEGER PRIMARY KEY DESC, v);
            CREATE TABLE reordered(a TEXT, b INTEGER, c REAL, d, PRIMARY KEY(c, a)) WITHOUT ROWID;
            CREATE TABLE generated(x INTEGER, y AS (x * 2) VIRTUAL, z AS (x + 1) STORED, w TEXT);
            CREATE TABLE strict_t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER, any_v ANY) STRICT;
            CREATE TABLE grown(id INTEGER PRIMARY KEY, v);
            CREATE TABLE grown_wr(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
            CREATE TABLE desc_wr(a INTEGER, b TEXT, v, PRIMARY KEY(a DESC, b)) WITHOUT ROWID;
            CREATE TABLE nocase_wr(k TEXT COLLATE NOCASE PRIMARY KEY, v) WITHOUT ROWID;
            """)
        _ = try h.captured()
        var before = try Self.contents(h.writer)
        /// `changesSchemaOnly`: the statements change a schema and no stored value, so no row
        /// event may come out (SQLite's SELECT shows the new columns, which is no row change).
        func check(_ label: String, _ sql: String, changesSchemaOnly: Bool = false) throws {
            try h.writer.execute(sql)
            let after = try Self.contents(h.writer)
            let expected = changesSchemaOnly ? [] : Self.expectedValueChanges(from: before, to: after)
            XCTAssertEqual(Self.describeValues(try h.captured()), expected, label)
            before = after
        }
        try check("affinities", """
            INSERT INTO reals VALUES (1, 1.0, 2, '3.0', '4', 5, x'06', -0.0),
                                     (2, -0.0, 1e308, 5e-324, 9223372036854775807, 'text', 'not a blob', NULL),
                                     (3, 2.5, '7', 'abc', -9223372036854775808, x'00ff', 3.25, 'é😀');
            """)
        try check("integer primary key desc is not a rowid alias", "INSERT INTO desc_key VALUES (10, 'a'), (-5, 'b')")
        try check("WITHOUT ROWID key columns first", "INSERT INTO reordered VALUES ('x', 1, 2.5, 'd1'), ('y', 2, 2.5, NULL), ('x', 3, 1, x'01')")
        try check("WITHOUT ROWID keys in DESC order and NOCASE", """
            WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 300)
            INSERT INTO desc_wr SELECT value, 'b' || value, value * 2 FROM n;
            WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 300)
            INSERT INTO nocase_wr SELECT 'K' || value, value FROM n;
            """)
        try check("updates and deletes there", "UPDATE desc_wr SET v = -v WHERE a % 7 = 0; DELETE FROM nocase_wr WHERE v % 5 = 0; UPDATE nocase_wr SET v = 'x' WHERE k = 'k3'")
        try check("generated columns", "INSERT INTO generated(x, w) VALUES (1, 'a'), (20, 'b')")
        try check("STRICT", "INSERT INTO strict_t VALUES (1, 't', 2, 3.5), (2, NULL, NULL, x'02')")
        try check("rows before ADD COLUMN", "INSERT INTO grown VALUES (1, 'old'); INSERT INTO grown_wr VALUES ('k', 'old')")
        try check("ADD COLUMN changes no row", """
            ALTER TABLE grown ADD COLUMN n INTEGER DEFAULT '7';
            ALTER TABLE grown ADD COLUMN s TEXT DEFAULT 42;
            ALTER TABLE grown ADD COLUMN r REAL DEFAULT 3;
            ALTER TABLE grown_wr ADD COLUMN extra DEFAULT x'0102';
            """, changesSchemaOnly: true)
        try check("short records read the defaults", "UPDATE grown SET v = 'new' WHERE id = 1; UPDATE grown_wr SET v = 'new'")
        try check("RENAME COLUMN changes no row", "ALTER TABLE grown RENAME COLUMN v TO v2", changesSchemaOnly: true)
        try check("DROP COLUMN rewrites rows but changes no value kept", "ALTER TABLE grown DROP COLUMN s", changesSchemaOnly: true)
        try check("updates after the changes", "UPDATE grown SET v2 = 'again'; DELETE FROM reals WHERE id = 2; UPDATE reordered SET c = 9 WHERE a = 'x' AND c = 1")
        // RENAME TABLE keeps the b-tree and changes no row; the rows come under the new name as
        // a snapshot epoch of that table, read from the rename's commit.
        try h.writer.execute("ALTER TABLE grown RENAME TO renamed")
        let renameEvents = try h.captured()
        XCTAssertEqual(renameEvents.map(\.typeName), ["schema", "snapshot_start", "change", "snapshot_end"])
        let renamedRows = try Self.contents(h.writer)["renamed"] ?? [:]
        XCTAssertEqual(Self.describeValues(renameEvents), renamedRows.map { "renamed snapshot \(Self.json($0.key)) nil -> \(Self.json($0.value))" }.sorted())
        before = try Self.contents(h.writer)
        try check("rows of the renamed table", "INSERT INTO renamed(id, v2) VALUES (2, 'two'); UPDATE renamed SET n = 8 WHERE id = 1")
        // The rebuild migration tools run in one transaction: new table, copy, drop, rename.
        // Only rows whose values changed come out (here: v2 of row 2 becomes an integer).
        try check("table rebuild in one transaction", """
            BEGIN;
            CREATE TABLE renamed_new(id INTEGER PRIMARY KEY, v2 NUMERIC, n INTEGER, r REAL);
            INSERT INTO renamed_new SELECT id, CASE WHEN id = 2 THEN '22' ELSE v2 END, n, r FROM renamed;
            DROP TABLE renamed;
            ALTER TABLE renamed_new RENAME TO renamed;
            COMMIT;
            """)
        try check("a new table with rows in the same transaction", "BEGIN; CREATE TABLE fresh(a INTEGER PRIMARY KEY, b); INSERT INTO fresh VALUES (1, 'x'), (2, 'y'); COMMIT;")
        try check("DROP TABLE emits no row event", "DROP TABLE fresh", changesSchemaOnly: true)
    }

    /// The row changes between two contents, every value spelled out (JSON), so a
    /// storage-class or bit difference shows; sorted, to compare as a set.
    static func expectedValueChanges(from old: [String: [[SQLiteValue]: [SQLiteValue]]], to new: [String: [[SQLiteValue]: [SQLiteValue]]]) -> [String] {
        var out: [String] = []
        for (table, rows) in new {
            let before = old[table] ?? [:]
            for (key, image) in rows {
                if let b = before[key] {
                    if b != image { out.append("\(table) update \(json(key)) \(json(b)) -> \(json(image))") }
                } else {
                    out.append("\(table) insert \(json(key)) nil -> \(json(image))")
                }
            }
            for (key, image) in before where rows[key] == nil { out.append("\(table) delete \(json(key)) \(json(image)) -> nil") }
        }
        return out.sorted()
    }

    static func describeValues(_ events: [Event]) -> [String] {
        events.compactMap { e -> String? in
            guard let c = e.change else { return nil }
            return "\(c.table.name) \(c.operation.rawValue) \(json(c.key)) \(c.before.map(json) ?? "nil") -> \(c.after.map(json) ?? "nil")"
        }.sorted()
    }

    static func json(_ values: [SQLiteValue]) -> String {
        var w = JSONWriter()
        w.beginArray()
        for v in values { v.write(to: &w) }
        w.endArray()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func isEpochStart(_ e: Event) -> Bool {
        if case .snapshotStart = e.body { return true }
        return false
    }

    func testARestartedAgentContinuesWhereItStopped() throws {
        let h = try Harness(prefix: "wal-restart")
        var rng = SplitMix64(seed: 5)
        try h.capture.captureAvailable()
        for round in 0..<20 { try Self.randomTransaction(h.writer, &rng, round: round) }
        try h.capture.captureAvailable()
        try h.capture.close()
        let stoppedAt = try h.log.lastLSN()
        var before = try Self.contents(h.writer)

        // Stopped: the service goes on writing (its WAL is not reset: no checkpoint ran).
        for round in 20..<40 { try Self.randomTransaction(h.writer, &rng, round: round) }
        let restarted = try WALCapture(sourcePath: h.dir.path("source.db"), log: h.log, service: "svc", logger: .silent)
        try restarted.captureAvailable()
        let events = try h.log.read(after: stoppedAt, limit: 1_000_000)
        XCTAssertFalse(events.contains(where: Self.isEpochStart), "no resync: the stored WAL position is still valid")
        var replayed = before
        Self.replay(events, onto: &replayed)
        XCTAssertEqual(replayed, try Self.contents(h.writer))
        try restarted.close()

        // Stopped again; now the WAL is checkpointed and restarted meanwhile: frames the
        // agent never read are gone, so it must resync, never skip.
        before = try Self.contents(h.writer)
        let mark = try h.log.lastLSN()
        _ = try h.writer.query("PRAGMA wal_checkpoint(TRUNCATE)")
        for round in 40..<50 { try Self.randomTransaction(h.writer, &rng, round: round) }
        let third = try WALCapture(sourcePath: h.dir.path("source.db"), log: h.log, service: "svc", logger: .silent)
        try third.captureAvailable()
        let after = try h.log.read(after: mark, limit: 1_000_000)
        XCTAssertEqual(after.first.map(Self.isEpochStart), true, "a resync epoch comes first")
        if case .snapshotStart(let epoch)? = after.first?.body { XCTAssertEqual(epoch.reason, "resync") }
        var replayed2 = before
        Self.replay(after, onto: &replayed2)
        XCTAssertEqual(replayed2, try Self.contents(h.writer))
        try third.close()
    }

    /// A service that writes and closes its last connection between two runs of the agent
    /// leaves no WAL behind (SQLite checkpoints it into the file and deletes it): the restarted
    /// agent must see the file changed and resync, including when it last saw no WAL at all.
    func testAWALThatCameAndWentWhileStoppedIsResynchronized() throws {
        let dir = try TemporaryDirectory(prefix: "wal-came-went")
        let path = dir.path("source.db")
        func write(_ sql: String) throws {
            let c = try Connection(path: path, mode: .create)
            try c.execute("PRAGMA journal_mode=WAL")
            try c.execute(sql)
            try c.close()
        }
        try write("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-wal"), "the last close removed the WAL")
        let log = try EventLog(path: dir.path("events.db"), create: true)
        for round in 0..<2 {
            let capture = try WALCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
            try capture.captureAvailable()
            try capture.close()
            // The second run's stop left no caught-up marker, as after a crash.
            if round == 1 { try log.saveState(["closed_caught_up": .integer(0)]) }
            let mark = try log.lastLSN()
            try write("INSERT INTO t VALUES (\(round + 2), 'written while stopped')")
            let next = try WALCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
            try next.captureAvailable()
            let events = try log.read(after: mark, limit: 1_000)
            XCTAssertEqual(events.first.map(Self.isEpochStart), true, "round \(round): a resync epoch, not silence")
            XCTAssertTrue(events.contains { if case .change(let c) = $0.body { return c.after?.contains(.string("written while stopped")) == true }; return false },
                          "round \(round): the row written while stopped is in the log")
            try next.close()
        }
    }

    /// Schema changes made while the agent could not follow the WAL come before the resync
    /// epoch's rows as schema events (a vanished table as a drop, another key as a drop and a
    /// create), so that a read model that followed the stream until then follows this too.
    func testAResyncAnnouncesTheSchemaChangesItMissed() throws {
        var h = try Harness(prefix: "wal-missed", schema: """
            CREATE TABLE keep(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE gone(id INTEGER PRIMARY KEY);
            CREATE TABLE swapped(id INTEGER PRIMARY KEY, v TEXT);
            INSERT INTO keep VALUES (1, 'a'); INSERT INTO gone VALUES (1); INSERT INTO swapped VALUES (1, 'x');
            """)
        _ = try h.captured()
        _ = try Self.applyLog(h)
        try h.capture.close()
        let mark = try h.log.lastLSN()
        // While stopped; then a checkpoint that restarts the WAL, so continuity is lost.
        try h.writer.execute("""
            ALTER TABLE keep ADD COLUMN w INTEGER DEFAULT 7; DROP TABLE gone; DROP TABLE swapped;
            CREATE TABLE swapped(code TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID; INSERT INTO swapped VALUES ('c', 'y');
            CREATE TABLE fresh(id INTEGER PRIMARY KEY); INSERT INTO fresh VALUES (5);
            """)
        _ = try h.writer.query("PRAGMA wal_checkpoint(TRUNCATE)")
        let restarted = try WALCapture(sourcePath: h.dir.path("source.db"), log: h.log, service: "svc", logger: .silent)
        try restarted.captureAvailable()
        let events = try h.log.read(after: mark, limit: 1_000)
        let announced = events.compactMap { event -> String? in
            if case .schema(let s) = event.body { return "\(s.kind.rawValue) \(s.table)" }
            return nil
        }
        XCTAssertEqual(announced, ["create fresh", "drop gone", "alter keep", "drop swapped", "create swapped"])
        XCTAssertEqual(events.dropFirst(announced.count).first.map(Self.isEpochStart), true, "then the resync epoch")
        try Self.assertReplicaConsistent(h, "the read model that followed the stream: ")
        try restarted.close()
    }

    /// The daemon's group commit: commits that follow an append gather for the linger time
    /// and go to the log together, and none is lost or reordered on the way.
    func testTheDaemonGathersCommitsThatFollowAnAppend() throws {
        let h = try Harness(prefix: "wal-linger", lingerMilliseconds: 40)
        try h.capture.captureAvailable()  // the initial epoch, before the clock starts
        let epochEnd = try h.log.lastLSN()
        let stop = StopFlag()
        let capture = h.capture
        let daemon = Thread { try? capture.run(until: { stop.isSet }, pollIntervalMilliseconds: 1_000) ; stop.markFinished() }
        daemon.start()
        // A commit every 2 ms: slower than the daemon captures one, so without the linger
        // each would be appended on its own.
        let commits = 150
        for i in 0..<commits {
            try h.writer.execute("INSERT INTO items(id, name) VALUES (?, ?)", [.integer(Int64(i)), .string("item \(i)")])
            usleep(2_000)
        }
        let reader = try EventLog(path: h.dir.path("events.db"))
        let deadline = Date().addingTimeInterval(60)
        while try reader.lastLSN().rawValue < epochEnd.rawValue + Int64(commits), Date() < deadline { usleep(10_000) }
        stop.set()
        while !stop.isFinished { usleep(1_000) }
        let events = try reader.read(after: epochEnd, limit: 10_000)
        XCTAssertEqual(events.compactMap { $0.change?.key }, (0..<commits).map { [.integer(Int64($0))] }, "every commit, in commit order")
        XCTAssertEqual(Set(events.compactMap { $0.change?.transaction.id }).count, commits, "one group per source transaction")
        // One append per wake-up would be one per commit here (each commit wakes the daemon).
        XCTAssertLessThan(h.capture.statistics.appends, commits / 3, "commits that arrived within the linger time were appended together")
        try reader.close()
    }

    /// Against a service that commits without pause, the barrier still happens (the WAL
    /// restarts), and what the agent reads while it holds the service's write lock stays
    /// within the documented bound: it keeps up while it waits for the lock.
    func testTheBarrierReadsOnlyAShortTailUnderABusyWriter() throws {
        let h = try Harness(prefix: "wal-barrier")
        try h.capture.captureAvailable()
        let stop = StopFlag()
        let path = h.dir.path("source.db")
        let writer = Thread {
            defer { stop.markFinished() }
            guard let c = try? Connection(path: path, mode: .readWrite) else { return }
            var i: Int64 = 0
            // Bounded, so that a debug build's catch-up afterwards stays short.
            while !stop.isSet, i < 1_500 {
                let rows = i % 50 == 49 ? 500 : 2
                try? c.execute("BEGIN IMMEDIATE")
                for r in 0..<Int64(rows) {
                    try? c.execute("INSERT OR REPLACE INTO items(id, name) VALUES (?, ?)", [.integer((i * 7 + r) % 3_000), .string("n\(i)")])
                }
                try? c.execute("COMMIT")
                i += 1
            }
        }
        writer.start()
        let deadline = Date().addingTimeInterval(3)
        // A debug build may never catch up with this writer: each call is bounded by the deadline.
        while Date() < deadline, h.capture.statistics.barrierCycles < 3 {
            _ = try h.capture.captureAvailable(until: { Date() >= deadline })
        }
        stop.set()
        while !stop.isFinished { usleep(1_000) }
        try h.capture.captureAvailable()
        XCTAssertGreaterThan(h.capture.statistics.barrierCycles, 0, "the WAL passed the threshold, so barrier cycles ran")
        XCTAssertLessThanOrEqual(h.capture.statistics.mostFramesReadUnderBarrier, WALCapture.barrierReadLimitFrames)
        try Self.assertReplicaConsistent(h)
    }

    /// A transaction larger than the batch is appended in several batches, as one group.
    func testATransactionLargerThanABatchIsOneGroup() throws {
        var h = try Harness(prefix: "wal-big", batchSize: 100)
        _ = try h.captured()
        let before = try Self.contents(h.writer)
        try h.writer.execute("BEGIN")
        for i in 0..<1_000 {
            try h.writer.execute("INSERT INTO items(id, name, price) VALUES (?, ?, ?)", [.integer(Int64(i)), .string(String(repeating: "x", count: i % 3 == 0 ? 3_000 : 10)), .real(1.5)])
        }
        try h.writer.execute("COMMIT")
        let events = try h.captured()
        XCTAssertEqual(events.count, 1_000)
        XCTAssertEqual(Set(events.compactMap { $0.change?.transaction.id }).count, 1, "one transaction id")
        XCTAssertEqual(events.compactMap { $0.change?.transaction.index }, Array(0..<1_000))
        XCTAssertEqual(events.filter { $0.change?.transaction.isLast == true }.map(\.lsn), [events.last!.lsn])
        var replayed = before
        Self.replay(events, onto: &replayed)
        XCTAssertEqual(replayed, try Self.contents(h.writer))
    }

    /// Schema events: one per table that a transaction created, altered, renamed or dropped,
    /// before that transaction's row changes, with the schema version grown by one.
    func testSchemaChangesComeAsSchemaEvents() throws {
        var h = try Harness(prefix: "wal-schema", schema: "CREATE TABLE a(id INTEGER PRIMARY KEY, v);")
        _ = try h.captured()
        func schemaEvents(_ sql: String) throws -> [String] {
            try h.writer.execute(sql)
            return try h.captured().compactMap { e -> String? in
                guard case .schema(let s) = e.body else { return nil }
                return "\(s.kind.rawValue) \(s.previousName)->\(s.table) v\(s.schema.version) \(s.schema.columnNames)"
            }
        }
        XCTAssertEqual(try schemaEvents("CREATE TABLE b(k TEXT PRIMARY KEY, n) WITHOUT ROWID"), ["create b->b v1 [\"k\", \"n\"]"])
        XCTAssertEqual(try schemaEvents("ALTER TABLE a ADD COLUMN w INTEGER DEFAULT 1"), ["alter a->a v2 [\"id\", \"v\", \"w\"]"])
        XCTAssertEqual(try schemaEvents("ALTER TABLE a RENAME COLUMN v TO v2"), ["alter a->a v3 [\"id\", \"v2\", \"w\"]"])
        XCTAssertEqual(try schemaEvents("ALTER TABLE a RENAME TO a2"), ["rename a->a2 v4 [\"id\", \"v2\", \"w\"]"])
        XCTAssertEqual(try schemaEvents("DROP TABLE b"), ["drop b->b v1 [\"k\", \"n\"]"])
        XCTAssertEqual(try schemaEvents("CREATE INDEX a2_v ON a2(v2)"), [], "an index is no table change")
        try h.writer.execute("INSERT INTO a2(id, v2) VALUES (1, 'x')")
        _ = try h.captured()
        // A rebuild in one transaction: one alter, then only the rows whose values changed.
        try h.writer.execute("""
            BEGIN;
            CREATE TABLE a2_new(id INTEGER PRIMARY KEY, v2 TEXT, w INTEGER, z DEFAULT 0);
            INSERT INTO a2_new(id, v2, w) SELECT id, upper(v2), w FROM a2;
            DROP TABLE a2;
            ALTER TABLE a2_new RENAME TO a2;
            COMMIT;
            """)
        let events = try h.captured()
        XCTAssertEqual(events.map(\.typeName), ["schema", "change"])
        if case .schema(let s)? = events.first?.body { XCTAssertEqual(s.kind, .alter); XCTAssertEqual(s.schema.version, 5) }
        // z = 0 is the new column's default, so only v2's new value makes the row differ.
        XCTAssertEqual(events.last?.change?.operation, .update)
        XCTAssertEqual(events.last?.change?.after, [.integer(1), .string("X"), .integer(1), .integer(0)])
        for e in events { XCTAssertEqual(try Event(jsonLine: e.jsonLine()), e, "round trip through the codec") }
    }

    /// Table-level changes reach the read model: a swap in one transaction, a drop and a
    /// create of the same name (also with another key, on the same root page), and a rename.
    /// After each step the sink applies the log and replica-check must say consistent.
    func testTableSwapsDropsAndRenamesReachTheReadModel() throws {
        var h = try Harness(prefix: "wal-tables", schema: "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b'), ('c');")
        func step(_ label: String, _ sql: String) throws {
            try h.writer.execute(sql)
            _ = try h.captured()
            guard try !h.writer.userTableNames().isEmpty else {
                let replica = try Connection(path: try Self.applyLog(h), mode: .readOnly)
                XCTAssertEqual(try replica.userTableNames(), [], "\(label): the dropped table's read model is gone")
                return
            }
            try Self.assertReplicaConsistent(h, "\(label): ")
        }
        try step("initial", "SELECT 1")
        try step("copy into t_new", "BEGIN; CREATE TABLE t_new(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t_new SELECT id, upper(v) FROM t; COMMIT;")
        try step("swap in one transaction", "BEGIN; DROP TABLE t; ALTER TABLE t_new RENAME TO t; COMMIT;")
        try step("drop", "DROP TABLE t")
        try step("create again", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('only row')")
        try step("drop and create with another key in one transaction", "BEGIN; DROP TABLE t; CREATE TABLE t(k TEXT, v TEXT); INSERT INTO t VALUES ('x', 'y'); COMMIT;")
        try step("rename", "ALTER TABLE t RENAME TO t2")
        try step("write under the new name", "INSERT INTO t2 VALUES ('z', 'w')")
    }

    /// WITHOUT ROWID keys in DESC order and the NOCASE and RTRIM collations, diffed by the
    /// streaming merge (budget 0: every table streams), which must walk both trees in their
    /// own key order: memory stays a page a level instead of the whole table.
    func testStreamingDiffFollowsDescAndCollatedKeys() throws {
        var h = try Harness(prefix: "wal-order", schema: """
            CREATE TABLE d(a INTEGER, b TEXT, v, PRIMARY KEY(a DESC, b)) WITHOUT ROWID;
            CREATE TABLE n(k TEXT COLLATE NOCASE PRIMARY KEY, v) WITHOUT ROWID;
            CREATE TABLE r(k TEXT COLLATE RTRIM, j INTEGER, v, PRIMARY KEY(k, j DESC)) WITHOUT ROWID;
            """, diffPageBudget: 0)
        _ = try h.captured()
        var before = try Self.contents(h.writer)
        func check(_ label: String, _ sql: String) throws {
            try h.writer.execute(sql)
            let after = try Self.contents(h.writer)
            XCTAssertEqual(Self.describeValues(try h.captured()), Self.expectedValueChanges(from: before, to: after), label)
            before = after
        }
        try check("inserts", """
            WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400)
            INSERT INTO d SELECT i % 37, 'b' || i, i FROM s;
            WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400)
            INSERT INTO n SELECT (CASE WHEN i % 2 THEN 'Key' ELSE 'kez' END) || i, i FROM s;
            WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400)
            INSERT INTO r SELECT 'k' || (i % 50) || substr('   ', 1, i % 3), i, i FROM s;
            """)
        try check("updates and deletes", "UPDATE d SET v = -v WHERE a % 5 = 0; DELETE FROM n WHERE v % 7 = 0; UPDATE r SET v = 'x' WHERE j % 11 = 0; DELETE FROM d WHERE a = 3")
    }
}

/// A flag the test thread and the daemon's thread share.
private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false, finished = false
    var isSet: Bool { lock.withLock { stopped } }
    var isFinished: Bool { lock.withLock { finished } }
    func set() { lock.withLock { stopped = true } }
    func markFinished() { lock.withLock { finished = true } }
}
