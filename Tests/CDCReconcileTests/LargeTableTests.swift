import CDCCore
import CDCReconcile
import CDCSQLite
import Foundation
import XCTest

/// A table far larger than the memory the check may use (DESIGN.md promise 7): both sides are
/// streamed and merged, so the peak resident size grows by much less than the data read.
final class LargeTableTests: XCTestCase {
    static let rowCount = 50_000
    static let payloadBytes = 1_000

    func testFiftyThousandRowsWithBoundedMemory() throws {
        let f = try CheckFixture()
        // Written by SQLite itself, so the test process never holds the rows.
        try f.source.execute("""
            CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, payload BLOB, score REAL);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(Self.rowCount))
            INSERT INTO big SELECT i, 'name ' || i, randomblob(\(Self.payloadBytes)), i / 7.0 FROM n;
            """)
        try f.replica.execute("""
            ATTACH DATABASE '\(f.sourcePath.replacingOccurrences(of: "'", with: "''"))' AS s;
            CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, payload BLOB, score REAL);
            INSERT INTO big SELECT * FROM s.big;
            DETACH DATABASE s;
            DELETE FROM big WHERE id IN (17, 25000, 50000);
            UPDATE big SET score = score + 1e-12 WHERE id = 333;
            UPDATE big SET payload = payload || x'00' WHERE id = 40001;
            INSERT INTO big VALUES (50001, 'ghost', x'', 0.0);
            """)
        let dataBytes = Int64(Self.rowCount * Self.payloadBytes * 2)

        let before = Self.residentBytes() ?? 0
        let start = Date()
        let (report, peak) = try withPeakResidentBytes { try f.check() }
        let elapsed = Date().timeIntervalSince(start)
        let growth = (peak ?? before) - before

        let t = report.table("big")
        XCTAssertEqual(t.sourceRowCount, Int64(Self.rowCount))
        XCTAssertEqual(t.replicaRowCount, Int64(Self.rowCount - 3 + 1))
        XCTAssertEqual(t.missing.sampleKeys, [[.integer(17)], [.integer(25000)], [.integer(50000)]])
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(333)], [.integer(40001)]])
        XCTAssertEqual(t.extra.sampleKeys, [[.integer(50001)]])
        // Reading ~100 MB must not need anything like 100 MB: allow page caches and slack.
        XCTAssertLessThan(growth, dataBytes / 3, "peak resident size grew by \(growth) bytes for \(dataBytes) bytes of rows")
        print("replica-check compared 2 x \(Self.rowCount) rows (\(dataBytes / 1_000_000) MB) in \(String(format: "%.2f", elapsed)) s; peak RSS growth \(growth / 1024) KiB")
    }

    /// The resident set size now, in bytes (Linux `/proc/self/statm`), or `nil` elsewhere.
    static func residentBytes() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int64(fields[1]) else { return nil }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Samples the resident size every few milliseconds while `body` runs.
    /// - Returns: what `body` returns, and the highest resident size seen (`nil` without
    ///   `/proc`).
    private func withPeakResidentBytes<T>(_ body: () throws -> T) rethrows -> (T, Int64?) {
        guard Self.residentBytes() != nil else { return (try body(), nil) }
        let sampler = RSSSampler()
        let thread = Thread { sampler.run() }
        thread.start()
        defer { sampler.stop() }
        let result = try body()
        sampler.stop()
        return (result, sampler.peak)
    }
}

/// A background sampler of the resident size (test support; the lock guards both fields).
private final class RSSSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var highest: Int64 = 0

    var peak: Int64 { lock.lock(); defer { lock.unlock() }; return highest }

    func stop() { lock.lock(); stopped = true; lock.unlock() }

    func run() {
        while true {
            let now = LargeTableTests.residentBytes() ?? 0
            lock.lock()
            highest = max(highest, now)
            let done = stopped
            lock.unlock()
            if done { return }
            usleep(2_000)
        }
    }
}
