import CDCCore
import CDCReconcile
import CDCSinks
import CDCSQLite
import Foundation
import XCTest

/// The checker against source and replica databases made by the real SQLite library.
final class ReplicaCheckerTests: XCTestCase {
    func testEqualTablesAreConsistent() throws {
        let f = try CheckFixture(appliedLSN: 12)
        try f.both("""
            CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, balance REAL, photo BLOB);
            INSERT INTO customers VALUES (1, 'Ada', 10.25, x'00ff'), (2, 'Bob', NULL, x''), (3, '', -0.5, NULL);
            CREATE TABLE empty(id INTEGER PRIMARY KEY, v);
            """)
        let report = try f.check()
        XCTAssertTrue(report.isConsistent, report.render(json: false))
        XCTAssertEqual(report.tables.map(\.sourceTable), ["customers", "empty"])
        XCTAssertEqual(report.table("customers").sourceRowCount, 3)
        XCTAssertEqual(report.table("customers").replicaRowCount, 3)
        XCTAssertEqual(report.appliedLSN, LSN(12))
        XCTAssertNil(report.sourceLSN)
        XCTAssertNil(report.lagLSN)
        XCTAssertNil(report.pendingChangeCount)
    }

    func testMissingExtraAndDifferingRowsAreCountedWithTheirKeys() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try f.source.execute("INSERT INTO t VALUES (1,'a'), (2,'b'), (3,'c'), (5,'e'), (6,'f')")
        try f.replica.execute("INSERT INTO t VALUES (1,'a'), (2,'B'), (4,'d'), (5,'e'), (7,'g')")
        let report = try f.check()
        XCTAssertFalse(report.isConsistent)
        let t = report.table("t")
        assertCounts(t, missing: 2, extra: 2, differing: 1)
        XCTAssertEqual(t.missing.sampleKeys, [[.integer(3)], [.integer(6)]])
        XCTAssertEqual(t.extra.sampleKeys, [[.integer(4)], [.integer(7)]])
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(2)]])
        XCTAssertEqual(report.missingCount, 2)
    }

    func testSampleKeysAreLimitedButCountsAreExact() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
        try f.source.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) INSERT INTO t SELECT i, i FROM n")
        let report = try f.check(maximumSampleKeys: 3)
        XCTAssertEqual(report.table("t").missing.count, 40)
        XCTAssertEqual(report.table("t").missing.sampleKeys, [[.integer(1)], [.integer(2)], [.integer(3)]])
        XCTAssertEqual(try f.check(maximumSampleKeys: 0).table("t").missing.sampleKeys, [])
    }

    func testValuesDifferingOnlyInStorageClassDiffer() throws {
        let f = try CheckFixture()
        // Untyped columns keep each value's storage class as written.
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
        try f.source.execute("INSERT INTO t VALUES (1, 1), (2, 1.0), (3, '1'), (4, 1), (5, x'31'), (6, '1')")
        try f.replica.execute("INSERT INTO t VALUES (1, 1.0), (2, '1'), (3, 1), (4, 1), (5, '1'), (6, x'31')")
        let t = try f.check().table("t")
        assertCounts(t, differing: 5)
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(1)], [.integer(2)], [.integer(3)], [.integer(5)], [.integer(6)]])
    }

    func testNegativeZeroDiffersFromZeroAndRealsCompareBitExact() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
        let pairs: [(SQLiteValue, SQLiteValue)] = [
            (.real(-0.0), .real(0.0)),                       // differ: sign bit
            (.real(0.1), .real(0.1)),                        // same
            (.real(0.1 + 0.2), .real(0.3)),                  // differ: one ulp
            (.real(5e-324), .real(5e-324)),                  // same
            (.integer(9_007_199_254_740_993), .integer(9_007_199_254_740_993)),
            (.integer(9_007_199_254_740_993), .real(9_007_199_254_740_992.0)),
        ]
        for (i, (s, r)) in pairs.enumerated() {
            try f.source.execute("INSERT INTO t VALUES (?, ?)", [.integer(Int64(i)), s])
            try f.replica.execute("INSERT INTO t VALUES (?, ?)", [.integer(Int64(i)), r])
        }
        // The storage layer really kept -0.0 (else this test would prove nothing).
        guard case .real(let stored)? = try f.source.scalar("SELECT v FROM t WHERE id = 0") else { return XCTFail("not a real") }
        XCTAssertEqual(stored.sign, .minus)
        let t = try f.check().table("t")
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(0)], [.integer(2)], [.integer(5)]])
    }

    func testBlobAndTextWithTheSameBytesDiffer() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
        try f.source.execute("INSERT INTO t VALUES (1, x'616263'), (2, 'abc'), (3, 'a' || char(0) || 'b')")
        try f.replica.execute("INSERT INTO t VALUES (1, 'abc'), (2, 'abc'), (3, 'a')")
        let t = try f.check().table("t")
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(1)], [.integer(3)]])
    }

    func testKeysOfDifferentStorageClassMatchButDiffer() throws {
        // A key 1 in the source and 1.0 in the replica is the same row to SQLite (1 = 1.0),
        // but not the same value: one differing row, not one missing and one extra.
        let f = try CheckFixture()
        try f.both("CREATE TABLE t(k PRIMARY KEY, v) WITHOUT ROWID")
        try f.source.execute("INSERT INTO t VALUES (1, 'x'), ('2', 'y')")
        try f.replica.execute("INSERT INTO t VALUES (1.0, 'x'), (2, 'y')")
        let t = try f.check().table("t")
        assertCounts(t, missing: 1, extra: 1, differing: 1)
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(1)]])
        XCTAssertEqual(t.extra.sampleKeys, [[.integer(2)]])
        XCTAssertEqual(t.missing.sampleKeys, [[.string("2")]])
    }

    func testCompositeKeys() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE lines(qty INTEGER, order_id INTEGER, line TEXT, PRIMARY KEY(order_id, line))")
        try f.source.execute("INSERT INTO lines VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'a'), (4, 10, 'a')")
        try f.replica.execute("INSERT INTO lines VALUES (1, 1, 'a'), (9, 1, 'b'), (3, 2, 'b'), (4, 10, 'a')")
        let t = try f.check().table("lines")
        XCTAssertEqual(t.keyNames, ["order_id", "line"])
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(1), .string("b")]])
        XCTAssertEqual(t.missing.sampleKeys, [[.integer(2), .string("a")]])
        XCTAssertEqual(t.extra.sampleKeys, [[.integer(2), .string("b")]])
    }

    func testTextKeysWithMixedCaseAndUnicodeInBinaryOrder() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE t(name TEXT PRIMARY KEY, v INTEGER)")
        let names = ["b", "B", "a", "A", "é", "e\u{301}", "😀", "\u{FFFD}", "z", "Z", "", "ß", "SS", "a b"]
        for (i, n) in names.enumerated() {
            try f.source.execute("INSERT INTO t VALUES (?, ?)", [.string(n), .integer(Int64(i))])
            // The replica has every other name, and the composed/decomposed é swapped values.
            if i % 2 == 0 { try f.replica.execute("INSERT INTO t VALUES (?, ?)", [.string(n), .integer(Int64(i))]) }
        }
        try f.replica.execute("INSERT INTO t VALUES ('e\u{301}', 4) ON CONFLICT(name) DO NOTHING")
        let t = try f.check(maximumSampleKeys: 100).table("t")
        // "é" (index 4) and "e\u{301}" (index 5) are different keys: byte-exact, no normalisation.
        let expectedMissing = names.enumerated().filter { $0.offset % 2 == 1 && $0.offset != 5 }.map { [SQLiteValue.string($0.element)] }
        XCTAssertEqual(Set(t.missing.sampleKeys), Set(expectedMissing))
        XCTAssertEqual(t.missing.sampleKeys, t.missing.sampleKeys.sorted { SQLiteOrdering.compare(keys: $0, $1) < 0 })
        XCTAssertEqual(t.differing.sampleKeys, [[.string("e\u{301}")]])
        XCTAssertEqual(t.extra.count, 0)
    }

    func testRowidTablesCompareByRowid() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE events(kind TEXT, payload)")
        try f.source.execute("INSERT INTO events(rowid, kind, payload) VALUES (1, 'a', 1), (2, 'b', 2), (5, 'c', 3)")
        // Same rows but one under another rowid: that is a missing and an extra row.
        try f.replica.execute("INSERT INTO events(rowid, kind, payload) VALUES (1, 'a', 1), (2, 'b', 2.0), (6, 'c', 3)")
        let t = try f.check().table("events")
        XCTAssertEqual(t.keyNames, ["rowid"])
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(2)]])
        XCTAssertEqual(t.missing.sampleKeys, [[.integer(5)]])
        XCTAssertEqual(t.extra.sampleKeys, [[.integer(6)]])
    }

    func testRowidTableWhoseColumnShadowsRowid() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE t(rowid TEXT, v)")
        try f.source.execute("INSERT INTO t(_rowid_, rowid, v) VALUES (1, 'x', 1), (2, 'y', 2)")
        try f.replica.execute("INSERT INTO t(_rowid_, rowid, v) VALUES (1, 'x', 1), (2, 'y', 3)")
        let t = try f.check().table("t")
        XCTAssertEqual(t.keyNames, ["_rowid_"])
        XCTAssertEqual(t.differing.sampleKeys, [[.integer(2)]])
    }

    func testWithoutRowidTables() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID")
        try f.source.execute("INSERT INTO kv VALUES ('a', x'01'), ('b', x'02'), ('c', x'03')")
        try f.replica.execute("INSERT INTO kv VALUES ('a', x'01'), ('b', x'0200'), ('c', x'03')")
        let t = try f.check().table("kv")
        assertCounts(t, differing: 1)
        XCTAssertEqual(t.differing.sampleKeys, [[.string("b")]])
    }

    func testOddTableAndColumnNames() throws {
        let f = try CheckFixture()
        try f.both(#"""
            CREATE TABLE "order lines ""x"" ü" ("select" INTEGER, "from ""col""" TEXT, "ключ" TEXT, PRIMARY KEY("ключ", "select"));
            CREATE TABLE "😀" (id INTEGER PRIMARY KEY, "group" TEXT);
            INSERT INTO "😀" VALUES (1, 'g');
            """#)
        try f.source.execute("INSERT INTO \"order lines \"\"x\"\" ü\" VALUES (1, 'a', 'k'), (2, 'b', 'k')")
        try f.replica.execute("INSERT INTO \"order lines \"\"x\"\" ü\" VALUES (1, 'a', 'k'), (2, 'c', 'k')")
        let report = try f.check()
        let t = report.table("order lines \"x\" ü")
        XCTAssertEqual(t.keyNames, ["ключ", "select"])
        XCTAssertEqual(t.differing.sampleKeys, [[.string("k"), .integer(2)]])
        XCTAssertTrue(report.table("😀").isConsistent)
    }

    func testMissingReadModelTableCountsEveryRowMissing() throws {
        let f = try CheckFixture()
        try f.source.execute("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)")
        let t = try f.check().table("t")
        XCTAssertTrue(t.isReplicaTableMissing)
        assertCounts(t, missing: 3)
        XCTAssertFalse(t.isConsistent)
    }

    func testColumnShapeDifferencesAreDivergence() throws {
        let f = try CheckFixture()
        try f.source.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); INSERT INTO t VALUES (1, 'x', 'y')")
        try f.replica.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a, c); INSERT INTO t VALUES (1, 'x', 'z')")
        let t = try f.check().table("t")
        assertCounts(t) // the columns both have agree
        XCTAssertEqual(t.schemaDifferences.count, 2)
        XCTAssertFalse(t.isConsistent)
    }

    func testDuplicateKeysInAReplicaWithoutKeyConstraintCountAsExtra() throws {
        let f = try CheckFixture()
        try f.source.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        // A sink bug could create the table without its key; the check must not crash or throw.
        try f.replica.execute("CREATE TABLE t(id INTEGER, v); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (2, 'b')")
        let t = try f.check().table("t")
        assertCounts(t, extra: 1)
        XCTAssertEqual(t.extra.sampleKeys, [[.integer(2)]])
    }

    func testLagFromEventLogAndPendingChanges() throws {
        let f = try CheckFixture(appliedLSN: 40)
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        try f.source.execute("""
            CREATE TABLE _cdc_changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT, op TEXT);
            INSERT INTO _cdc_changes(tbl, op) VALUES ('t', 'insert'), ('t', 'delete');
            """)
        let log = try CDCTransportBridge.makeLog(at: f.path("events.db"), lastLSN: 57)
        let report = try f.check(logPath: log)
        XCTAssertEqual(report.sourceLSN, LSN(57))
        XCTAssertEqual(report.appliedLSN, LSN(40))
        XCTAssertEqual(report.lagLSN, 17)
        XCTAssertEqual(report.pendingChangeCount, 2)
        XCTAssertTrue(report.isConsistent, "lag alone is not divergence")
        XCTAssertEqual(report.tables.map(\.sourceTable), ["t"], "_cdc_ tables are never compared")
    }

    func testAppliedLSNIsMatchedToThisSource() throws {
        let f = try CheckFixture(appliedLSN: nil)
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        XCTAssertEqual(try f.check().appliedLSN, .zero, "no offset row yet: nothing applied")
        try f.replica.execute("INSERT INTO _cdc_sink_offset(source, lsn) VALUES ('billing', 9), ('source', 33)")
        XCTAssertEqual(try f.check().appliedLSN, LSN(33), "matched by the source file name")
        try f.replica.execute("DELETE FROM _cdc_sink_offset WHERE source = 'source'")
        XCTAssertEqual(try f.check().appliedLSN, LSN(9), "the only row")
        try f.replica.execute("INSERT INTO _cdc_sink_offset(source, lsn) VALUES ('crm', 3)")
        XCTAssertNil(try f.check().appliedLSN, "ambiguous: unknown")
        let named = try ReplicaChecker(sourcePath: f.sourcePath, replicaPath: f.replicaPath, sourceName: "crm").run()
        XCTAssertEqual(named.appliedLSN, LSN(3))
    }

    func testCapturedTableListFromMeta() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE a(id INTEGER PRIMARY KEY); CREATE TABLE b(id INTEGER PRIMARY KEY); CREATE TABLE c(id INTEGER PRIMARY KEY)")
        try f.source.execute("INSERT INTO c VALUES (1)") // not captured: not compared
        // The layout change-table capture writes (Sources/CDCCapture/ChangeTableMeta.swift).
        try f.source.execute("""
            CREATE TABLE _cdc_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
            INSERT INTO _cdc_meta VALUES ('format', 1), ('install_id', 'x'), ('width', 1), ('next_table_id', 3),
              ('table.2.name', 'b'), ('table.2.gen', 1), ('table.1.name', 'a'), ('table.1.gen', 1), ('table.1.gen.1.columns', 1);
            """)
        let report = try f.check()
        XCTAssertEqual(report.tables.map(\.sourceTable), ["a", "b"])
        XCTAssertTrue(report.isConsistent)
        let projection = Projection(tables: ["c": .init(source: "c")])
        XCTAssertThrowsError(try f.check(projection: projection)) { XCTAssertEqual($0 as? ProjectionError, .unknownTable("c")) }
        try f.source.execute("INSERT INTO _cdc_meta VALUES ('table.3.name', 'gone')")
        XCTAssertThrowsError(try f.check()) { XCTAssertEqual($0 as? ReplicaCheckError, .unknownSourceTable("gone", path: f.sourcePath)) }
    }

    func testCheckWritesNeitherDatabase() throws {
        let f = try CheckFixture(appliedLSN: 5)
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 'a')")
        try f.replica.execute("INSERT INTO t VALUES (2, 'b')")
        let files = [f.sourcePath, f.replicaPath]
        let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let versions = try [f.source.dataVersion(), f.replica.dataVersion()]
        XCTAssertFalse(try f.check().isConsistent)
        XCTAssertEqual(try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }, before)
        XCTAssertEqual(try [f.source.dataVersion(), f.replica.dataVersion()], versions, "no other connection committed")
        // And it held no lock afterwards: a writer can commit at once.
        try f.source.execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (3, 'c'); COMMIT")
    }

    func testErrorsForBadInput() throws {
        let f = try CheckFixture()
        try f.both("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        XCTAssertThrowsError(try ReplicaChecker(sourcePath: f.path("nope.db"), replicaPath: f.replicaPath).run()) {
            XCTAssertEqual($0 as? ReplicaCheckError, .noSuchFile(path: f.path("nope.db"), role: "source"))
        }
        XCTAssertThrowsError(try ReplicaChecker(sourcePath: f.sourcePath, replicaPath: f.sourcePath).run()) {
            XCTAssertEqual($0 as? ReplicaCheckError, .notAReplica(path: f.sourcePath))
        }
        let text = try f.write("notes.txt", "this is not a database, just text long enough to be a header\n")
        XCTAssertThrowsError(try ReplicaChecker(sourcePath: text, replicaPath: f.replicaPath).run()) {
            XCTAssertEqual(($0 as? SQLiteError)?.code.primary, .notADatabase)
        }
        let empty = try Connection(path: f.path("empty.db"), mode: .create)
        try empty.close()
        XCTAssertThrowsError(try ReplicaChecker(sourcePath: f.path("empty.db"), replicaPath: f.replicaPath).run()) {
            XCTAssertEqual($0 as? ReplicaCheckError, .noTables(path: f.path("empty.db")))
        }
    }
}
