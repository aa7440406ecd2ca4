import CDCCapture
import CDCCore
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// Runs the real `cdc-agent` binary: bad input gets exit 2 and one line on standard error;
/// the daemon stops cleanly on SIGTERM.
final class AgentExecutableTests: XCTestCase {
    var agent: String { productsFolder(for: Self.self).appendingPathComponent("cdc-agent").path }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: agent) else {
            throw XCTSkip("cdc-agent is not built next to the test bundle (\(agent)); run swift build first")
        }
    }

    func assertBadInput(_ arguments: [String], mentions word: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runProcess(agent, arguments)
        XCTAssertEqual(r.code, 2, "exit code for \(arguments)", file: file, line: line)
        let lines = r.err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line on stderr, got: \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(word), "stderr should mention \(word): \(r.err)", file: file, line: line)
    }

    func testBadInputGetsOneLineAndExitTwo() throws {
        let tmp = try TemporaryFolder()
        try assertBadInput(["install", "--db", tmp.path("missing.db")], mentions: "no such file")
        try assertBadInput(["run", "--db", tmp.path("missing.db"), "--log", tmp.path("e.db"), "--once"], mentions: "no such file")
        let junk = tmp.path("junk.db")
        try Data("this is not a database, just text that is long enough to fill a header".utf8).write(to: URL(fileURLWithPath: junk))
        try assertBadInput(["install", "--db", junk], mentions: "not a database")
        try assertBadInput(["run", "--db", junk, "--log", tmp.path("e.db"), "--once"], mentions: "not a database")

        let rollback = tmp.path("rollback.db")
        let c = try Connection(path: rollback, mode: .create)
        try c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        try assertBadInput(["install", "--db", rollback, "--tables", "t"], mentions: "journal_mode=WAL")
        XCTAssertFalse(try c.tableExists("_cdc_meta"), "install refuses a database not in WAL mode before changing it")
        try assertBadInput(["run", "--db", rollback, "--log", tmp.path("e.db"), "--once"], mentions: "journal_mode=WAL")
        try c.execute("PRAGMA journal_mode=WAL")
        try assertBadInput(["install", "--db", rollback, "--tables", "t,nope"], mentions: "nope")
        XCTAssertFalse(try c.tableExists("_cdc_meta"), "a failed install leaves nothing")
        try assertBadInput(["run", "--db", rollback, "--log", tmp.path("e.db"), "--mode", "triggers", "--once"], mentions: "cdc-agent install")
        try assertBadInput(["run", "--db", rollback, "--log", tmp.path("e.db"), "--mode", "binlog", "--once"], mentions: "--mode")
        try ChangeTableInstaller(connection: c, logger: .silent).install(tables: nil)
        try assertBadInput(["run", "--db", rollback, "--log", tmp.path("e.db"), "--mode", "wal", "--once"], mentions: "uninstall")
        try assertBadInput(["run", "--db", rollback], mentions: "--log")
        try assertBadInput(["frobnicate"], mentions: "unknown command")
        try assertBadInput(["run", "--db", rollback, "--log", tmp.path("e.db"), "--batch-size", "0"], mentions: "--batch-size")
    }

    /// Tests run as root, where file permissions do not stop writes, so the read-only case
    /// uses SQLite's own read-only open (`file:…?mode=ro`).
    func testReadOnlyDatabaseIsRejected() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY);").close()
        XCTAssertEqual(try runProcess(agent, ["install", "--db", path]).code, 0)
        try assertBadInput(["install", "--db", "file:\(path)?mode=ro"], mentions: "read-only")
        try assertBadInput(["run", "--db", "file:\(path)?mode=ro", "--log", tmp.path("e.db"), "--once"], mentions: "read-only")
    }

    func testLockedDatabaseIsRejected() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY);")
        XCTAssertEqual(try runProcess(agent, ["install", "--db", path]).code, 0)
        try c.execute("BEGIN EXCLUSIVE")
        defer { try? c.execute("ROLLBACK") }
        // The busy timeout is 5 s; the error must still be one line with exit 2.
        try assertBadInput(["uninstall", "--db", path], mentions: "lock")
        // run waits only as long as --busy-timeout says, then fails the same way.
        let started = Date()
        try assertBadInput(["run", "--db", path, "--log", tmp.path("e.db"), "--once", "--busy-timeout", "200ms"], mentions: "lock")
        XCTAssertLessThan(Date().timeIntervalSince(started), 4, "--busy-timeout 200ms waited the default 5 s")
    }

    func testInstallRunOnceAndUninstall() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("orders.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE \"order\"(id INTEGER PRIMARY KEY, total REAL); INSERT INTO \"order\" VALUES (1, 2.5);")
        let before = try schemaRows(c)
        XCTAssertEqual(try runProcess(agent, ["install", "--db", path]).code, 0)
        XCTAssertEqual(try runProcess(agent, ["install", "--db", path]).code, 0, "install twice")
        try c.execute("INSERT INTO \"order\" VALUES (2, 1e308)")
        let run = try runProcess(agent, ["run", "--db", path, "--log", tmp.path("events.db"), "--once"])
        XCTAssertEqual(run.code, 0, run.err)
        let log = try EventLog(path: tmp.path("events.db"))
        let events = try readAll(log)
        XCTAssertEqual(events.map(\.typeName), ["snapshot_start", "change", "change", "snapshot_end"])
        XCTAssertEqual(events.first?.source.service, "orders", "service defaults to the file name without extension")
        XCTAssertEqual(try runProcess(agent, ["uninstall", "--db", path]).code, 0)
        XCTAssertEqual(try runProcess(agent, ["uninstall", "--db", path]).code, 0, "uninstall twice")
        XCTAssertEqual(try schemaRows(c).filter { !$0.contains("sqlite_sequence") }, before)
    }

    func testDaemonCapturesWithLowLatencyAndStopsOnSIGTERM() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let c = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v);")
        XCTAssertEqual(try runProcess(agent, ["install", "--db", path]).code, 0)
        let logPath = tmp.path("events.db")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: agent)
        p.arguments = ["run", "--db", path, "--log", logPath, "--service", "svc"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        func waitForEvents(_ n: Int) throws -> [Event] {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if FileManager.default.fileExists(atPath: logPath), let log = try? EventLog(path: logPath, readOnly: true),
                   let events = try? readAll(log), events.count >= n { return events }
                usleep(10_000)
            }
            return []
        }
        XCTAssertEqual(try waitForEvents(2).count, 2, "initial epoch markers")
        try c.execute("INSERT INTO t VALUES (1, 'x'); UPDATE t SET v = 'y';")
        let events = try waitForEvents(4)
        XCTAssertEqual(events.compactMap { $0.change?.operation }, [.insert, .update])
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 0)
    }
}
