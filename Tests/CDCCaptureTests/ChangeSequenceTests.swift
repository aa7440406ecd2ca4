import CDCCapture
import CDCCore
import CDCSQLite
import CDCTransport
import CDCTestSupport
import XCTest

/// The continuity check relies on committed change rows having consecutive `seq`s: `seq` is
/// a rowid alias, so SQLite assigns the largest rowid + 1; a failed statement inside a
/// committed transaction, and a rolled-back transaction, leave no row behind; and the agent
/// never deletes the highest consumed row, so the numbers go on after it instead of
/// restarting at 1 in an emptied table. Source: https://www.sqlite.org/autoinc.html
final class ChangeSequenceTests: XCTestCase {
    func testCommittedChangeRowsHaveConsecutiveSequenceNumbers() throws {
        let dir = try TemporaryDirectory(prefix: "seq")
        let db = try Connection(path: dir.path("s.db"), mode: .create)
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT UNIQUE)")
        try ChangeTableInstaller(connection: db, logger: .silent).install(tables: nil)

        try db.execute("BEGIN")
        try db.execute("INSERT INTO t VALUES (1, 'a')")
        // A multi-row statement that fails on its third row: its first two inserts and their
        // change rows are undone by the statement rollback.
        XCTAssertThrowsError(try db.execute("INSERT INTO t VALUES (2, 'b'), (3, 'c'), (4, 'a')"))
        try db.execute("INSERT INTO t VALUES (5, 'e')")
        try db.execute("COMMIT")
        try db.execute("BEGIN")
        try db.execute("INSERT INTO t VALUES (6, 'f')")
        try db.execute("ROLLBACK")
        try db.execute("INSERT INTO t VALUES (7, 'g')")

        let seqs = try db.query("SELECT seq FROM _cdc_changes ORDER BY seq").compactMap { row -> Int64? in
            if case .integer(let v) = row[0] { return v }
            return nil
        }
        XCTAssertEqual(seqs, [1, 2, 3])
        XCTAssertFalse(try db.tableExists("sqlite_sequence"), "no AUTOINCREMENT: the service's writes never touch sqlite_sequence")
    }

    func testSequenceContinuesAfterTheAgentConsumesEverything() throws {
        let dir = try TemporaryDirectory(prefix: "seq")
        let db = try Connection(path: dir.path("s.db"), mode: .create)
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
        try ChangeTableInstaller(connection: db, logger: .silent).install(tables: nil)
        try db.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")

        let log = try EventLog(path: dir.path("events.db"), create: true)
        let capture = try ChangeTableCapture(sourcePath: db.path, log: log, service: "s", logger: .silent)
        _ = try capture.captureAvailable()
        // Everything is consumed; only the highest row stays, as the sequence's high-water mark.
        XCTAssertEqual(try db.query("SELECT seq FROM _cdc_changes"), [[.integer(3)]])

        try db.execute("INSERT INTO t VALUES (4, 'd')")
        XCTAssertEqual(try db.scalar("SELECT max(seq) FROM _cdc_changes"), .integer(4))
        let before = try log.lastLSN()
        _ = try capture.captureAvailable()
        let events = try log.read(after: before, limit: 100)
        XCTAssertEqual(events.count, 1)
        guard case .change(let change)? = events.first?.body else { return XCTFail("\(events)") }
        XCTAssertEqual(change.after?.last, .string("d"), "the new row continues the stream: no resync epoch")
        XCTAssertEqual(try db.query("SELECT seq FROM _cdc_changes"), [[.integer(4)]])
    }
}

/// The triggers store `julianday()`; the agent turns it into UTC milliseconds.
final class TriggerTimestampTests: XCTestCase {
    func testJulianDaysBecomeUTCMilliseconds() throws {
        // 1970-01-01T00:00:00Z is Julian day 2440587.5 (https://www.sqlite.org/lang_datefunc.html).
        let dir = try TemporaryDirectory(prefix: "jd")
        let db = try Connection(path: dir.path("j.db"), mode: .create)
        let row = try db.query("SELECT julianday('1970-01-01 00:00:00'), julianday('2026-12-01 12:34:56.789'), julianday()")[0]
        guard case .real(let epoch) = row[0], case .real(let later) = row[1], case .real(let now) = row[2] else { return XCTFail("\(row)") }
        XCTAssertEqual(ChangeTableLayout.millisecondsSince1970(julianDay: epoch), 0)
        XCTAssertEqual(ChangeTableLayout.millisecondsSince1970(julianDay: later), 1_796_128_496_789)
        let wall = Int64(Date().timeIntervalSince1970 * 1000)
        XCTAssertLessThan(abs(ChangeTableLayout.millisecondsSince1970(julianDay: now) - wall), 5_000)
    }
}

/// A change table created by an earlier build, with `seq … AUTOINCREMENT`, whose agent deleted
/// every consumed row: the sequence lives on in `sqlite_sequence`, and capture goes on from it
/// without taking the empty table for a restored database.
final class AutoincrementChangeTableTests: XCTestCase {
    func testAnEarlierInstallWithAutoincrementKeepsItsSequence() throws {
        let dir = try TemporaryDirectory(prefix: "seq-old")
        let db = try Connection(path: dir.path("s.db"), mode: .create)
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
        try ChangeTableInstaller(connection: db, logger: .silent).install(tables: nil)
        // Rebuild _cdc_changes as the earlier build made it (same columns, AUTOINCREMENT).
        let createSQL = try db.scalar("SELECT sql FROM sqlite_schema WHERE name = '_cdc_changes'")?.stringValue ?? ""
        XCTAssertTrue(createSQL.contains("seq INTEGER PRIMARY KEY,"), createSQL)
        // Legacy rename leaves the triggers naming _cdc_changes, which is made again below.
        try db.execute("""
            PRAGMA legacy_alter_table=ON;
            ALTER TABLE _cdc_changes RENAME TO _cdc_changes_new;
            \(createSQL.replacingOccurrences(of: "seq INTEGER PRIMARY KEY,", with: "seq INTEGER PRIMARY KEY AUTOINCREMENT,"));
            DROP TABLE _cdc_changes_new;
            PRAGMA legacy_alter_table=OFF;
            """)
        try db.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        let log = try EventLog(path: dir.path("events.db"), create: true)
        var capture: ChangeTableCapture? = try ChangeTableCapture(sourcePath: db.path, log: log, service: "s", logger: .silent)
        try capture?.captureAvailable()
        try capture?.close()
        capture = nil
        // What the earlier agent did: delete every consumed row. The table is now empty, so
        // only sqlite_sequence still says how far the sequence went: without it the agent
        // would take the table for a database restored from a backup and resync.
        try db.execute("DELETE FROM _cdc_changes")
        let mark = try log.lastLSN()
        let again = try ChangeTableCapture(sourcePath: db.path, log: log, service: "s", logger: .silent)
        try again.captureAvailable()
        XCTAssertEqual(try log.read(after: mark, limit: 100).map(\.typeName), [], "no resync epoch")
        try db.execute("INSERT INTO t VALUES (3, 'c')")
        XCTAssertEqual(try db.scalar("SELECT seq FROM sqlite_sequence WHERE name = '_cdc_changes'"), .integer(3), "AUTOINCREMENT numbered the rows")
        try again.captureAvailable()
        let events = try log.read(after: mark, limit: 100)
        XCTAssertEqual(events.count, 1, "\(events.map(\.typeName))")
        XCTAssertEqual(events.first?.change?.key, [.integer(3)])
        try again.close()
    }
}

