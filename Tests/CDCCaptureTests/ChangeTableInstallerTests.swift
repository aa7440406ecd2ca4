import CDCCapture
import CDCCore
import CDCSQLite
import Foundation
import XCTest

final class ChangeTableInstallerTests: XCTestCase {
    let schema = """
        CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, v);
        CREATE TABLE "b c"(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
        CREATE TABLE d(x, y);
        CREATE VIEW av AS SELECT * FROM a;
        CREATE INDEX a_v ON a(v);
        INSERT INTO a(v) VALUES (1);
        """

    func triggerNames(_ c: Connection) throws -> [String] {
        try c.query("SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name").compactMap { $0[0].stringValue }
    }

    func testInstallTwiceIsIdempotent() throws {
        let tmp = try TemporaryFolder()
        let c = try makeDatabase(at: tmp.path("s.db"), sql: schema)
        let installer = ChangeTableInstaller(connection: c, logger: .silent)
        let first = try installer.install(tables: nil)
        XCTAssertTrue(first.isNewInstall)
        XCTAssertEqual(first.capturedTables, ["a", "b c", "d"])
        XCTAssertEqual(first.changeTableWidth, 2)
        XCTAssertEqual(try triggerNames(c).count, 9)
        let schemaAfterFirst = try schemaRows(c)
        let second = try installer.install(tables: nil)
        XCTAssertFalse(second.isNewInstall)
        XCTAssertEqual(second.installID, first.installID)
        XCTAssertEqual(second.addedTables + second.removedTables + second.rebuiltTables, [])
        XCTAssertEqual(try schemaRows(c), schemaAfterFirst)
    }

    func testNewTableListAddsAndRemovesTriggers() throws {
        let tmp = try TemporaryFolder()
        let c = try makeDatabase(at: tmp.path("s.db"), sql: schema)
        let installer = ChangeTableInstaller(connection: c, logger: .silent)
        try installer.install(tables: ["a"])
        XCTAssertEqual(try triggerNames(c), ["_cdc_1_del_1", "_cdc_1_ins_1", "_cdc_1_upd_1"])
        let report = try installer.install(tables: ["d", "b c"])
        XCTAssertEqual(report.removedTables, ["a"])
        XCTAssertEqual(Set(report.addedTables), ["d", "b c"])
        XCTAssertEqual(report.capturedTables, ["b c", "d"])
        XCTAssertEqual(try triggerNames(c).count, 6)
        XCTAssertFalse(try triggerNames(c).contains { $0.hasSuffix("_1") })
        // Writes to a no longer captured table record nothing.
        try c.execute("INSERT INTO a(v) VALUES (2)")
        try c.execute("INSERT INTO d VALUES (1, 2)")
        XCTAssertEqual(try c.scalar("SELECT count(*) FROM _cdc_changes"), .integer(1))
    }

    func testUninstallRemovesExactlyWhatInstallAdded() throws {
        let tmp = try TemporaryFolder()
        // `a` is AUTOINCREMENT, so sqlite_sequence existed before install: exact equality.
        let c = try makeDatabase(at: tmp.path("s.db"), sql: schema)
        let before = try schemaRows(c)
        let sequenceBefore = try c.query("SELECT name, seq FROM sqlite_sequence ORDER BY name")
        let installer = ChangeTableInstaller(connection: c, logger: .silent)
        try installer.install(tables: nil)
        try c.execute("INSERT INTO a(v) VALUES (2); DELETE FROM a WHERE v = 2")
        XCTAssertNotEqual(try schemaRows(c), before)
        XCTAssertTrue(try installer.uninstall())
        XCTAssertEqual(try schemaRows(c), before)
        XCTAssertEqual(try c.query("SELECT name FROM sqlite_sequence WHERE name = '_cdc_changes'").count, 0)
        XCTAssertEqual(try c.query("SELECT name, seq FROM sqlite_sequence WHERE name <> 'a' ORDER BY name"),
                       sequenceBefore.filter { $0[0] != .string("a") })
        XCTAssertFalse(try installer.uninstall(), "a second uninstall finds nothing and succeeds")
        XCTAssertEqual(try schemaRows(c), before)
    }

    func testInstallDoesNotCreateSqliteSequence() throws {
        let tmp = try TemporaryFolder()
        let c = try makeDatabase(at: tmp.path("s.db"), sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v);")
        let before = try schemaRows(c)
        let installer = ChangeTableInstaller(connection: c, logger: .silent)
        try installer.install(tables: nil)
        try c.execute("INSERT INTO t VALUES (1, 1)")
        try installer.uninstall()
        // `_cdc_changes` has no AUTOINCREMENT, so a source without one never gets the
        // sqlite_sequence table that SQLite would not let uninstall drop.
        XCTAssertEqual(try schemaRows(c), before)
        XCTAssertFalse(try c.tableExists("sqlite_sequence"))
    }

    func testFailedInstallLeavesSchemaUnchanged() throws {
        let tmp = try TemporaryFolder()
        let c = try makeDatabase(at: tmp.path("s.db"), sql: schema)
        let before = try schemaRows(c)
        let installer = ChangeTableInstaller(connection: c, logger: .silent)
        XCTAssertThrowsError(try installer.install(tables: ["a", "nope"])) { error in
            XCTAssertEqual(error as? SchemaError, .noSuchTable("nope", path: c.path))
        }
        XCTAssertEqual(try schemaRows(c), before)
        XCTAssertThrowsError(try installer.install(tables: ["av"]), "a view is not a table")
        XCTAssertThrowsError(try installer.install(tables: ["sqlite_sequence"]))
        XCTAssertEqual(try schemaRows(c), before)
        // On an existing install, a failed change keeps the old install intact.
        try installer.install(tables: ["a"])
        let installed = try schemaRows(c)
        XCTAssertThrowsError(try installer.install(tables: ["d", "missing"]))
        XCTAssertEqual(try schemaRows(c), installed)
    }

    func testTableWhoseColumnsShadowEveryRowidAliasIsRejected() throws {
        let tmp = try TemporaryFolder()
        let c = try makeDatabase(at: tmp.path("s.db"), sql: "CREATE TABLE t(rowid, _rowid_, oid);")
        XCTAssertThrowsError(try ChangeTableInstaller(connection: c, logger: .silent).install(tables: nil)) { error in
            XCTAssertEqual(error as? SchemaError, .noAddressableKey("t"))
        }
        XCTAssertFalse(try c.tableExists("_cdc_meta"))
    }

    /// Triggers must be accepted by writers that distrust the schema: the sqlite3 CLI with
    /// `.dbconfig defensive on` and `PRAGMA trusted_schema=OFF`, and our own connection.
    func testWritersWithDefensiveModeAndUntrustedSchemaAreAccepted() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB, r REAL);")
        try ChangeTableInstaller(connection: c, logger: .silent).install(tables: nil)
        let cli = try runProcess("/usr/bin/sqlite3", [path, ".dbconfig defensive on", "PRAGMA trusted_schema=OFF",
                                                    "INSERT INTO t VALUES (1, x'00ff', 1.5); UPDATE t SET r = 2.5; DELETE FROM t;"])
        XCTAssertEqual(cli.code, 0, cli.err)
        XCTAssertEqual(cli.err, "")
        let untrusted = try Connection(path: path)
        try untrusted.execute("PRAGMA trusted_schema=OFF")
        try untrusted.execute("INSERT INTO t VALUES (2, x'01', -0.5)")
        let py = try runProcess("/usr/bin/python3", ["-c", """
            import sqlite3, sys
            con = sqlite3.connect(sys.argv[1], isolation_level=None)
            con.execute('PRAGMA trusted_schema=OFF')
            con.execute("INSERT INTO t VALUES (3, x'02', 3.0)")
            """, path])
        XCTAssertEqual(py.code, 0, py.err)
        let ops = try c.query("SELECT op, typeof(a1), typeof(b1) FROM _cdc_changes ORDER BY seq")
        XCTAssertEqual(ops.map { $0[0] }, [.integer(1), .integer(2), .integer(3), .integer(1), .integer(1)])
        XCTAssertEqual(ops[0][1], .string("blob"))
    }
}
