import CDCCapture
import CDCCore
import CDCSQLite
import CDCTestSupport
import XCTest

/// The continuity check relies on AUTOINCREMENT giving committed change rows consecutive
/// `seq`s: a failed statement inside a committed transaction, and a rolled-back transaction,
/// give their numbers back (SQLite rolls `sqlite_sequence` back with them).
/// Source: https://www.sqlite.org/autoinc.html
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
        XCTAssertEqual(try db.scalar("SELECT seq FROM sqlite_sequence WHERE name = '_cdc_changes'"), .integer(3))
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
