import CDCCore
import CDCSQLite
import Foundation
import XCTest

/// The real `replica-check` binary: exit codes, output forms, one-line errors.
final class ReplicaCheckCommandTests: XCTestCase {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A built product next to the tests. On Apple platforms the test bundle is a folder in
    /// the products folder; on Linux `Bundle(for:)` is the products folder itself.
    private func product(_ name: String) -> URL? {
        let bundle = Bundle(for: Self.self).bundleURL
        return [bundle.deletingLastPathComponent(), bundle]
            .map { $0.appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    private func run(_ arguments: [String], tool: String = "replica-check") throws -> Run {
        let url = try XCTUnwrap(product(tool), "\(tool) is not built next to the tests; run swift build first")
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting, so a full pipe can never stall the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
    }

    private func makeFixture() throws -> CheckFixture {
        let f = try CheckFixture(appliedLSN: 3)
        try f.both("CREATE TABLE people(id INTEGER PRIMARY KEY, email TEXT); INSERT INTO people VALUES (1, 'SECRET-VALUE-1'), (2, 'SECRET-VALUE-2')")
        return f
    }

    func testConsistentExitsZero() throws {
        let f = try makeFixture()
        let r = try run(["--source", f.sourcePath, "--replica", f.replicaPath])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("replica-check: CONSISTENT"), r.stdout)
        XCTAssertEqual(r.stderr, "")
    }

    func testDivergedExitsOneAndNeverPrintsValues() throws {
        let f = try makeFixture()
        try f.replica.execute("UPDATE people SET email = 'SECRET-VALUE-X' WHERE id = 2; INSERT INTO people VALUES (9, 'SECRET-VALUE-9')")
        for extra in [[], ["--json"]] {
            let r = try run(["--source", f.sourcePath, "--replica", f.replicaPath] + extra)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertFalse(r.stdout.contains("SECRET"), "row values must never be printed:\n\(r.stdout)")
            XCTAssertTrue(r.stdout.contains("{\"id\":2}") && r.stdout.contains("{\"id\":9}"), r.stdout)
        }
    }

    func testJSONOutputParsesWithStableFieldOrder() throws {
        let f = try makeFixture()
        try f.source.execute("INSERT INTO people VALUES (3, 'c')")
        let log = try CDCTransportBridge.makeLog(at: f.path("events.db"), lastLSN: 8)
        let r = try run(["--source", f.sourcePath, "--replica", f.replicaPath, "--log", log, "--json", "--max-keys", "1"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix(#"{"consistent":false,"source":{"path":"#), r.stdout)
        XCTAssertEqual(r.stdout.filter { $0 == "\n" }.count, 1, "one JSON object on one line")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["consistent"] as? Bool, false)
        let lag = try XCTUnwrap(object["lag"] as? [String: Any])
        XCTAssertEqual(lag["lsn"] as? Int, 5)
        XCTAssertEqual((object["replica"] as? [String: Any])?["applied_lsn"] as? Int, 3)
        XCTAssertEqual((object["source"] as? [String: Any])?["lsn"] as? Int, 8)
        let tables = try XCTUnwrap(object["tables"] as? [[String: Any]])
        XCTAssertEqual(tables.count, 1)
        XCTAssertEqual(tables[0]["source"] as? String, "people")
        let missing = try XCTUnwrap(tables[0]["missing"] as? [String: Any])
        XCTAssertEqual(missing["count"] as? Int, 1)
        XCTAssertEqual((missing["keys"] as? [[String: Any]])?.first?["id"] as? Int, 3)
        // Byte-identical on a second run: stable field order.
        let again = try run(["--source", f.sourcePath, "--replica", f.replicaPath, "--log", log, "--json", "--max-keys", "1"])
        XCTAssertEqual(again.stdout, r.stdout)
    }

    func testBadInputExitsTwoWithOneLine() throws {
        let f = try makeFixture()
        let notSQLite = try f.write("notes.txt", String(repeating: "not a database. ", count: 20))
        let malformed = try f.write("bad.json", #"{"tables": {"people": {"colums": ["id"]}}}"#)
        let notJSON = try f.write("broken.json", #"{"tables": "#)
        let dropsKey = try f.write("nokey.json", #"{"tables": {"people": {"columns": ["email"]}}}"#)
        let cases: [(String, [String], String)] = [
            ("missing source", ["--source", f.path("nope.db"), "--replica", f.replicaPath], "no such file"),
            ("missing replica", ["--source", f.sourcePath, "--replica", f.path("nope.db")], "no such file"),
            ("missing log", ["--source", f.sourcePath, "--replica", f.replicaPath, "--log", f.path("nope.db")], "no such file"),
            ("not SQLite", ["--source", notSQLite, "--replica", f.replicaPath], "not a database"),
            ("replica not SQLite", ["--source", f.sourcePath, "--replica", notSQLite], "not a database"),
            ("not a replica", ["--source", f.sourcePath, "--replica", f.sourcePath], "not a replica"),
            ("log not a log", ["--source", f.sourcePath, "--replica", f.replicaPath, "--log", f.sourcePath], "not a cdc event log"),
            ("malformed projection", ["--source", f.sourcePath, "--replica", f.replicaPath, "--projection", malformed], "colums"),
            ("projection not JSON", ["--source", f.sourcePath, "--replica", f.replicaPath, "--projection", notJSON], "malformed projection"),
            ("projection drops key", ["--source", f.sourcePath, "--replica", f.replicaPath, "--projection", dropsKey], "key column"),
            ("missing projection", ["--source", f.sourcePath, "--replica", f.replicaPath, "--projection", f.path("none.json")], "cannot read"),
            ("no --replica", ["--source", f.sourcePath], "--replica"),
            ("unknown argument", ["--source", f.sourcePath, "--replica", f.replicaPath, "--fast"], "--fast"),
            ("bad --max-keys", ["--source", f.sourcePath, "--replica", f.replicaPath, "--max-keys", "many"], "--max-keys"),
        ]
        for (name, arguments, needle) in cases {
            let r = try run(arguments)
            XCTAssertEqual(r.status, 2, "\(name): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", name)
            XCTAssertTrue(r.stderr.hasPrefix("replica-check: "), "\(name): \(r.stderr)")
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "\(name): one line: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(name): \(r.stderr)")
        }
    }

    func testHelp() throws {
        let r = try run(["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("--replica"))
    }

    /// The whole chain through the real binaries: install capture, write, capture, apply,
    /// check; then a change not yet captured shows as pending and divergence.
    func testAgainstTheRealAgentAndSink() throws {
        guard product("cdc-agent") != nil, product("cdc-sink") != nil else {
            throw XCTSkip("cdc-agent and cdc-sink are not built next to the tests")
        }
        let f = try CheckFixture(appliedLSN: nil)
        try f.source.execute("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, score);
            CREATE TABLE notes(body TEXT, n);
            CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
            INSERT INTO customers VALUES (1, 'Ada', 1.5), (2, 'Bob', 2);
            INSERT INTO notes VALUES ('x', 1), ('y', 2.5);
            INSERT INTO kv VALUES ('é', x'00'), ('E', '1');
            """)
        try f.source.close()
        let replica = f.path("read.db")
        XCTAssertEqual(try run(["install", "--db", f.sourcePath], tool: "cdc-agent").status, 0)
        let writer = try Connection(path: f.sourcePath)
        try writer.execute("INSERT INTO customers VALUES (3, 'Cy', -0.0); UPDATE customers SET score = 2.0 WHERE id = 1; DELETE FROM notes WHERE n = 1; INSERT INTO kv VALUES ('a', 1.0)")
        let log = f.path("events.db")
        XCTAssertEqual(try run(["run", "--db", f.sourcePath, "--log", log, "--once"], tool: "cdc-agent").status, 0)
        let sink = try run(["--log", log, "--replica", replica], tool: "cdc-sink")
        guard FileManager.default.fileExists(atPath: replica) else { return XCTFail("cdc-sink made no replica: \(sink.stderr)") }

        let consistent = try run(["--source", f.sourcePath, "--replica", replica, "--log", log, "--json"])
        XCTAssertEqual(consistent.status, 0, consistent.stdout + consistent.stderr)
        XCTAssertTrue(consistent.stdout.contains(#""lag":{"lsn":0,"pending_changes":0}"#), consistent.stdout)

        try writer.execute("UPDATE kv SET v = 1 WHERE k = 'a'") // real 1.0 → integer 1, not captured yet
        let behind = try run(["--source", f.sourcePath, "--replica", replica, "--log", log])
        XCTAssertEqual(behind.status, 1, behind.stdout + behind.stderr)
        XCTAssertTrue(behind.stdout.contains("1 pending change row"), behind.stdout)
        XCTAssertTrue(behind.stdout.contains(#"differing: {"k":"a"}"#), behind.stdout)
    }
}
