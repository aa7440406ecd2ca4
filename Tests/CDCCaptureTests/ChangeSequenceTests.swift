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
