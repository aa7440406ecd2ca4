import CDCCore
import CDCSQLite
import CDCTestSupport
import XCTest

final class ConnectionTests: XCTestCase {
    func testEveryStorageClassRoundTripsExactly() throws {
        let dir = try TemporaryDirectory()
        let db = try Connection(path: dir.path("v.db"), mode: .create)
        try db.execute("CREATE TABLE t(v)")  // no declared type: no affinity, nothing converted
        let values: [SQLiteValue] = [
            .null, .integer(.min), .integer(.max), .integer(9_007_199_254_740_993),
            .real(-0.0), .real(1e308), .real(.leastNonzeroMagnitude), .real(.infinity),
            .text([]), .string("a\u{0}b"), .string("😀𝄞"), .text([0xFF, 0xFE]),
            .blob([]), .blob([0, 1, 2, 255]),
        ]
        let insert = try db.prepare("INSERT INTO t(v) VALUES (?)")
        for v in values { try insert.run([v]) }
        let back = try db.query("SELECT v, typeof(v) FROM t ORDER BY rowid")
        XCTAssertEqual(back.map { $0[0] }, values)
        XCTAssertEqual(back.map { $0[1].stringValue }, values.map { $0.storageClass.rawValue })
    }

    func testOpeningAFileThatIsNotADatabaseFailsAtOpenWithItsPath() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("notes.txt")
        try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Connection(path: path)) { error in
            guard let e = error as? SQLiteError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.code.primary, .notADatabase)
            XCTAssertTrue(e.description.contains(path), e.description)
        }
    }

    func testOpeningAMissingFileWithoutCreateFails() throws {
        let dir = try TemporaryDirectory()
        XCTAssertThrowsError(try Connection(path: dir.path("missing.db"))) { error in
            XCTAssertEqual((error as? SQLiteError)?.code.primary, .cantOpen)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("missing.db")))
    }

    func testTransactionRollsBackWhenTheBodyThrows() throws {
        let dir = try TemporaryDirectory()
        let db = try Connection(path: dir.path("t.db"), mode: .create)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        struct Boom: Error {}
        XCTAssertThrowsError(try db.transaction {
            try db.execute("INSERT INTO t VALUES (?)", [.integer(1)])
            throw Boom()
        })
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM t"), .integer(0))
        XCTAssertTrue(db.isAutocommit)
    }

    func testTableSchemaDescribesKeysAndQuotedNames() throws {
        let dir = try TemporaryDirectory()
        let db = try Connection(path: dir.path("s.db"), mode: .create)
        try db.execute(#"CREATE TABLE "Order Items"("a""b" TEXT NOT NULL DEFAULT 'x', "select" INTEGER, PRIMARY KEY("select", "a""b")) WITHOUT ROWID"#)
        try db.execute("CREATE TABLE plain(x, y REAL, z AS (y * 2))")
        let s = try db.tableSchema("Order Items")
        XCTAssertTrue(s.isWithoutRowID)
        XCTAssertEqual(s.keyNames, ["select", "a\"b"])
        XCTAssertEqual(s.columns[0].defaultSQL, "'x'")
        XCTAssertTrue(s.columns[0].isNotNull)
        let p = try db.tableSchema("plain")
        XCTAssertEqual(p.columnNames, ["x", "y"], "generated columns are derived, not captured")
        XCTAssertTrue(p.hasRowIDKey)
        XCTAssertEqual(p.keyNames, ["rowid"])
        XCTAssertEqual(try db.userTableNames(), ["Order Items", "plain"])
        XCTAssertThrowsError(try db.tableSchema("nope"))
    }
}

final class ConnectionCloseTests: XCTestCase {
    /// Owners that cache statements may close their connection first; the statements are
    /// finalized by the close and fail cleanly if used afterwards.
    func testCloseFinalizesLiveStatementsAndLaterUseFailsCleanly() throws {
        let dir = try TemporaryDirectory()
        let db = try Connection(path: dir.path("c.db"), mode: .create)
        try db.execute("CREATE TABLE t(x)")
        let cached = try db.prepare("INSERT INTO t VALUES (?)")
        try cached.run([.integer(1)])
        XCTAssertNoThrow(try db.close())
        XCTAssertThrowsError(try cached.run([.integer(2)])) { error in
            XCTAssertEqual((error as? SQLiteError)?.code, .misuse)
        }
    }
}
