import CDCCore
import CDCSQLite
import CDCTestSupport
import Foundation
import XCTest

/// The SQLite WAL locking facts the WAL capture protocol relies on (shared/WAL-FACTS.md,
/// observed with shared/tools/wal-lock-facts.py), as our own tests on the libsqlite3 this
/// project links. Sources: SQLite "Write-Ahead Logging" §3 Checkpointing and §4 Concurrency
/// (https://www.sqlite.org/wal.html), `sqlite3_wal_checkpoint_v2` (checkpoint modes), and the
/// comments on read marks and WAL reset in wal.c (walTryBeginRead, walRestartLog).
final class WALLockFactsTests: XCTestCase {
    private var dir: TemporaryDirectory!
    private var path: String { dir.path("t.db") }
    private var app: Connection!
    private var checkpointer: Connection!

    override func setUpWithError() throws {
        dir = try TemporaryDirectory(prefix: "wal-facts")
        app = try Connection(path: path, mode: .create, busyTimeoutMilliseconds: 200)
        try app.execute("PRAGMA journal_mode=WAL")
        try app.execute("PRAGMA wal_autocheckpoint=0")
        try app.execute("CREATE TABLE t(x)")
        checkpointer = try connection()
    }

    private func connection() throws -> Connection {
        try Connection(path: path, busyTimeoutMilliseconds: 200)
    }

    private func write(_ n: Int = 5) throws {
        for _ in 0..<n { try app.execute("INSERT INTO t VALUES (randomblob(100))") }
    }

    /// (busy, frames in the log, frames backfilled), as `PRAGMA wal_checkpoint` returns them.
    private func checkpoint(_ mode: String = "PASSIVE") throws -> [Int64] {
        try checkpointer.query("PRAGMA wal_checkpoint(\(mode))").first?.compactMap {
            if case .integer(let v) = $0 { return v }
            return nil
        } ?? []
    }

    /// The WAL header's checkpoint sequence and salts (bytes 12–23, big-endian; SQLite file
    /// format §4.1).
    private func header() throws -> (sequence: UInt32, salt1: UInt32, salt2: UInt32) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path + "-wal")).prefix(32)
        guard data.count == 32 else { throw CocoaError(.fileReadCorruptFile) }
        func u32(_ at: Int) -> UInt32 { data[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        return (u32(12), u32(16), u32(20))
    }

    /// Begins a read transaction that holds a snapshot (a pin).
    private func pin(_ c: Connection) throws {
        try c.execute("BEGIN")
        _ = try c.scalar("SELECT count(*) FROM t")
    }

    /// Fact 1: a reader whose mark is above 0 limits every checkpoint's backfill to its mark.
    func testAPinnedReaderLimitsBackfillToItsMark() throws {
        try write()
        let reader = try connection()
        try pin(reader)
        try write()
        XCTAssertEqual(try checkpoint(), [0, 12, 7])
        try reader.execute("COMMIT")
        XCTAssertEqual(try checkpoint(), [0, 12, 12])
    }

    /// Fact 2: a reader that began while the WAL was fully backfilled (mark 0) does not stop
    /// the next writer from restarting the WAL; fact 7: the restart adds one to the checkpoint
    /// sequence and changes both salts, salt-1 by one.
    func testAMarkZeroReaderDoesNotStopARestart() throws {
        try write()
        let full = try checkpoint()
        XCTAssertEqual(full.last, full.dropFirst().first, "fully backfilled")
        let reader = try connection()
        try pin(reader)
        let before = try header()
        try write(1)
        let after = try header()
        XCTAssertEqual(after.sequence, before.sequence + 1)
        XCTAssertEqual(after.salt1, before.salt1 &+ 1)
        XCTAssertNotEqual(after.salt2, before.salt2)
        try reader.execute("COMMIT")
    }

    /// Fact 3: while a mark-0 reader holds, no checkpoint backfills anything, TRUNCATE answers
    /// busy, and so no second restart can happen.
    func testWhileAMarkZeroReaderHoldsNothingIsBackfilledAndNoSecondRestartHappens() throws {
        try write()
        _ = try checkpoint()
        let reader = try connection()
        try pin(reader)
        try write(1)  // restarts the WAL
        try write(3)
        XCTAssertEqual(try checkpoint(), [0, 4, 0])
        XCTAssertEqual(try checkpoint("TRUNCATE").first, 1, "TRUNCATE is busy while the reader holds")
        let before = try header()
        try write(1)
        XCTAssertEqual(try header().salt1, before.salt1, "no second restart while the mark-0 reader holds")
        try reader.execute("COMMIT")
        XCTAssertEqual(try checkpoint(), [0, 5, 5])
    }

    /// Fact 4: a reader whose mark is above 0 prevents every restart, even when the WAL is
    /// backfilled up to its mark: the WAL only grows while it holds.
    func testAReaderAboveMarkZeroPreventsEveryRestart() throws {
        try write()
        let reader = try connection()
        try pin(reader)
        let backfilled = try checkpoint()
        XCTAssertEqual(backfilled.first, 0)
        XCTAssertEqual(backfilled.last, backfilled.dropFirst().first, "backfilled up to the reader's mark, which is the end")
        let before = try header()
        try write(1)
        XCTAssertEqual(try header().salt1, before.salt1)
        try reader.execute("COMMIT")
    }

    /// Facts 5 and 6: a PASSIVE checkpoint completes while another connection holds the write
    /// lock; the barrier cycle (write lock → checkpoint → new pin with mark 0 → release) lets
    /// the service's next write restart the WAL, and the new pin then protects every frame of
    /// the new generation.
    func testBarrierCycleLetsTheWALRestartAndTheNewPinProtectsTheNewGeneration() throws {
        try write(4)
        let barrier = try connection(), newPin = try connection()
        try barrier.execute("BEGIN IMMEDIATE")
        let underLock = try checkpoint()
        XCTAssertEqual(underLock.first, 0)
        XCTAssertEqual(underLock.last, underLock.dropFirst().first, "PASSIVE completes under another connection's write lock")
        try pin(newPin)
        try barrier.execute("ROLLBACK")
        let before = try header()
        try write(2)
        XCTAssertEqual(try header().sequence, before.sequence + 1, "the service's next write restarted the WAL")
        try write(3)
        XCTAssertEqual(try checkpoint(), [0, 5, 0], "the new pin keeps every frame of the new generation")
        try newPin.execute("COMMIT")
        XCTAssertEqual(try checkpoint("TRUNCATE"), [0, 0, 0])
    }
}
