@testable import CDCCapture
import CDCCore
import CDCSQLite
import XCTest

/// `cdc-agent resnapshot`'s checks: key syntax, key shape, and keys recorded as the source
/// stores them.
final class ResnapshotRequestTests: XCTestCase {
    func testKeysAreReadAsInEventsAndRecordedAsStored() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: """
            CREATE TABLE codes(code TEXT PRIMARY KEY, n INTEGER);
            CREATE TABLE blobs(k BLOB PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE lines(order_id INTEGER NOT NULL, line INTEGER NOT NULL, PRIMARY KEY(order_id, line)) WITHOUT ROWID;
            CREATE TABLE plain(v);
            INSERT INTO codes VALUES ('7', 1);
            INSERT INTO blobs VALUES (x'0001');
            INSERT INTO plain(rowid, v) VALUES (42, 'x');
            """)
        try c.close()
        // 7 finds the text key '7' (SQLite compares with the column's affinity) and is recorded as text.
        XCTAssertEqual(try ResnapshotRequest.make(sourcePath: path, tables: ["CODES"], keyArguments: ["7", "{\"code\":\"8\"}"]),
                       ResnapshotRequest(tables: ["codes"], keys: [[.string("7")], [.string("8")]]))
        XCTAssertEqual(try ResnapshotRequest.make(sourcePath: path, tables: ["blobs"], keyArguments: ["{\"$blob\":\"AAE=\"}"]).keys,
                       [[.blob([0, 1])]])
        XCTAssertEqual(try ResnapshotRequest.make(sourcePath: path, tables: ["lines"], keyArguments: ["{\"LINE\":2,\"order_id\":7}", "[8,1]"]).keys,
                       [[.integer(7), .integer(2)], [.integer(8), .integer(1)]])
        XCTAssertEqual(try ResnapshotRequest.make(sourcePath: path, tables: ["plain"], keyArguments: ["{\"rowid\":42}", "-1"]).keys,
                       [[.integer(42)], [.integer(-1)]])
        XCTAssertEqual(try ResnapshotRequest.make(sourcePath: path, tables: ["plain", "codes", "plain"], keyArguments: []),
                       ResnapshotRequest(tables: ["plain", "codes"], keys: nil))

        func refusal(_ tables: [String], _ keys: [String]) -> ResnapshotError? {
            do { _ = try ResnapshotRequest.make(sourcePath: path, tables: tables, keyArguments: keys); return nil } catch { return error as? ResnapshotError }
        }
        guard case .unknownTable? = refusal(["nope"], []) else { return XCTFail("unknown table") }
        guard case .malformedKey(1, _)? = refusal(["codes"], ["{code: 1}"]) else { return XCTFail("not JSON") }
        guard case .malformedKey(2, _)? = refusal(["codes"], ["1", "true"]) else { return XCTFail("a boolean is no value") }
        guard case .wrongKeyShape? = refusal(["lines"], ["7"]) else { return XCTFail("one value for two columns") }
        guard case .wrongKeyShape? = refusal(["lines"], ["{\"order_id\":7,\"line\":1,\"x\":2}"]) else { return XCTFail("an extra member") }
        guard case .keysNeedOneTable(2)? = refusal(["lines", "codes"], ["1"]) else { return XCTFail("keys of two tables") }
        guard case .noTable? = refusal([], []) else { return XCTFail("no table") }
        // The message names the key by position, never its value (it may be personal data).
        XCTAssertFalse(ResnapshotError.malformedKey(position: 1, reason: "r").description.contains("secret"))
    }

    func testAChangeTableSourceOnlyAcceptsCapturedTables() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE a(id INTEGER PRIMARY KEY); CREATE TABLE b(id INTEGER PRIMARY KEY);")
        _ = try ChangeTableInstaller(connection: c, logger: .silent).install(tables: ["a"])
        XCTAssertNoThrow(try ResnapshotRequest.make(sourcePath: path, tables: ["a"], keyArguments: []))
        XCTAssertThrowsError(try ResnapshotRequest.make(sourcePath: path, tables: ["b"], keyArguments: [])) { error in
            guard case .notCaptured? = error as? ResnapshotError else { return XCTFail("\(error)") }
        }
    }
}
