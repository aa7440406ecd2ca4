import CDCCore
import CDCSQLite
import CDCTestSupport
@testable import CDCWAL
import Foundation
import XCTest

/// The point of the incremental map: a one-row transaction on a ~10,000-page database costs a
/// few page reads, not a walk of the database. Measured in page reads (asserted) and time
/// (printed; too noisy to assert).
final class TransactionDiffCostTests: XCTestCase {
    final class CountingSource<Base: PageSource>: PageSource {
        let base: Base
        var reads = 0
        init(_ base: Base) { self.base = base }
        var pageSize: Int { base.pageSize }
        var databaseSizeInPages: UInt32 { base.databaseSizeInPages }
        func page(_ number: UInt32) throws -> [UInt8] {
            reads += 1
            return try base.page(number)
        }
    }

    func testOneRowTransactionOnATenThousandPageDatabase() throws {
        let dir = try TemporaryDirectory(prefix: "wal-diff-cost")
        let path = dir.path("db")
        let connection = try Connection(path: path, mode: .create)
        defer { try? connection.close() }
        try connection.execute("PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0")
        try connection.execute("""
            CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
            CREATE INDEX t_n ON t(n);
            WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 92000)
            INSERT INTO t(v, n) SELECT printf('%080d', i), i * 7 % 1000 FROM s;
            PRAGMA wal_checkpoint(TRUNCATE);
            UPDATE t SET v = 'changed' WHERE id = 40000;
            """)
        let db = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let wal = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "-wal")))
        var reader = try XCTUnwrap(try WALReader(source: wal))
        let read = try reader.readCommittedTransactions(from: wal)
        XCTAssertEqual(read.transactions.count, 1)
        let pageMap = WALPageMap(read.transactions)
        let header = reader.position.header
        let oldBase = try WALSnapshotPageSource(file: db, wal: wal, walHeader: header, pageMap: pageMap,
                                                commit: WALPageMap.Commit(frameIndex: -1, databaseSizeInPages: try DatabaseFilePageSource(file: db).databaseSizeInPages))
        let newBase = try WALSnapshotPageSource(file: db, wal: wal, walHeader: header, pageMap: pageMap, commit: pageMap.commits[0])
        let pages = newBase.databaseSizeInPages
        XCTAssertGreaterThan(pages, 9000)
        let roots = try PageOwnership.rootPages(in: oldBase)
        let changed = read.transactions[0].frames.map(\.pageNumber)
        let table = try XCTUnwrap(try BTreeWalker(source: newBase).schema().first { $0.name == "t" }).rootPage

        var buildSeconds = Double.infinity, applySeconds = Double.infinity
        var map = PageOwnership(databaseSizeInPages: 0)
        for _ in 0..<5 {
            let start = Date()
            map = try PageOwnership.build(source: oldBase, roots: roots)
            buildSeconds = min(buildSeconds, Date().timeIntervalSince(start))
        }
        let old = CountingSource(oldBase), new = CountingSource(newBase)
        var deltas: [RowDelta] = []
        for _ in 0..<5 {
            old.reads = 0
            new.reads = 0
            var m = map
            let start = Date()
            let changes = try m.apply(changedPages: changed, old: old, new: new, roots: roots)
            deltas = try TransactionDiff(old: old, new: new, ownership: m, changes: changes).deltas(of: DiffedTree(rootPage: table, kind: .table))
            applySeconds = min(applySeconds, Date().timeIntervalSince(start))
        }
        XCTAssertEqual(deltas.map(\.key), [.rowid(40000)])
        XCTAssertEqual(deltas.first?.after?[1], .string("changed"))
        let reads = old.reads + new.reads
        print(String(format: "cost: %u pages, %d written; full build %.2f ms (%u pages owned, each read once); apply + diff %.3f ms (%d page reads)",
                     pages, Set(changed).count, buildSeconds * 1000, map.ownedPageCount, applySeconds * 1000, reads))
        XCTAssertLessThan(reads, 40, "apply + diff of one row must read a few pages, not the database")
    }
}
