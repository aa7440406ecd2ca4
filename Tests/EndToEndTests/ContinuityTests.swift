import CDCSQLite
import CDCTestSupport
import Foundation
import XCTest

/// Ways an operator can break continuity between a source, its change table, the log and a
/// replica; each must end with a consistent replica or a clear refusal, never a silent loss
/// (DESIGN.md promises 1, 5 and 6).
final class ContinuityTests: XCTestCase {
    private var dir: TemporaryDirectory!
    private var db: String { dir.path("svc.db") }
    private var log: String { dir.path("events.db") }
    private var replica: String { dir.path("read.db") }

    override func setUpWithError() throws {
        dir = try TemporaryDirectory(prefix: "continuity")
        let source = try Connection(path: db, mode: .create)
        try source.execute("PRAGMA journal_mode=WAL")
        try source.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, v)")
        try source.execute("CREATE TABLE b(id INTEGER PRIMARY KEY, v)")
        try source.execute("INSERT INTO a VALUES (1, 'a1'), (2, 'a2')")
        try source.execute("INSERT INTO b VALUES (1, 'b1'), (2, 'b2')")
        try source.close()
    }

    @discardableResult
    private func tool(_ name: String, _ arguments: [String], expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        let out = try runProgram(Products.executable(name), arguments)
        XCTAssertEqual(out.status, status, "\(name) \(arguments.joined(separator: " ")): \(out.standardOutput) \(out.standardError)", file: file, line: line)
        return out
    }

    private func write(_ sql: String, to path: String? = nil) throws {
        let c = try Connection(path: path ?? db, mode: .create)
        try c.execute(sql)
        try c.close()
    }

    private func captureApplyCheck(file: StaticString = #filePath, line: UInt = #line) throws {
        try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"], file: file, line: line)
        try tool("cdc-sink", ["--log", log, "--replica", replica], file: file, line: line)
        try tool("replica-check", ["--source", db, "--replica", replica, "--log", log], file: file, line: line)
    }

    func testTheSinkRefusesToWriteIntoTheSourceOrAnyDatabaseThatIsNotAReplica() throws {
        try tool("cdc-agent", ["install", "--db", db])
        try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"])
        try write("INSERT INTO a VALUES (3, 'a3')")
        let intoSource = try tool("cdc-sink", ["--log", log, "--replica", db], expect: 2)
        XCTAssertTrue(intoSource.standardError.contains("not a read-model replica"), intoSource.standardError)
        XCTAssertEqual(try Connection(path: db, mode: .readOnly).scalar("SELECT count(*) FROM a"), .integer(3))
        try tool("cdc-sink", ["--log", log, "--replica", log], expect: 2)
        let other = dir.path("other.db")
        try write("CREATE TABLE a(id INTEGER PRIMARY KEY, v); INSERT INTO a VALUES (99, 'mine')", to: other)
        try tool("cdc-sink", ["--log", log, "--replica", other], expect: 2)
        XCTAssertEqual(try Connection(path: other, mode: .readOnly).scalar("SELECT count(*) FROM a"), .integer(1))
    }

    func testASourceRestoredFromABackupIsResynchronised() throws {
        try tool("cdc-agent", ["install", "--db", db])
        try write("INSERT INTO a VALUES (10, 'x')")
        let backup = dir.path("backup.db")
        try write("VACUUM INTO '\(backup)'")
        try write("INSERT INTO a VALUES (11, 'lost with the restore'); INSERT INTO a VALUES (12, 'also lost'); UPDATE b SET v = 'gone' WHERE id = 1")
        try captureApplyCheck()
        // Restore: the source goes back in time; its change table's sequence too.
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        try FileManager.default.removeItem(atPath: db)
        try FileManager.default.copyItem(atPath: backup, toPath: db)
        try write("PRAGMA journal_mode=WAL")
        try write("INSERT INTO a VALUES (20, 'after restore'); UPDATE a SET v = 'changed' WHERE id = 1")
        let run = try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"])
        XCTAssertTrue(run.standardError.contains("resync"), run.standardError)
        try tool("cdc-sink", ["--log", log, "--replica", replica])
        try tool("replica-check", ["--source", db, "--replica", replica, "--log", log])
    }

    func testRowsTakenByAnotherAgentIntoAnotherLogAreDetectedAndResynchronised() throws {
        try tool("cdc-agent", ["install", "--db", db])
        try captureApplyCheck()
        try write("INSERT INTO a VALUES (30, 'taken')")
        try tool("cdc-agent", ["run", "--db", db, "--log", dir.path("stray.db"), "--once"])
        try write("INSERT INTO a VALUES (31, 'next')")
        let run = try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"])
        XCTAssertTrue(run.standardError.contains("another agent") && run.standardError.contains("resync"), run.standardError)
        try tool("cdc-sink", ["--log", log, "--replica", replica])
        try tool("replica-check", ["--source", db, "--replica", replica, "--log", log])
    }

    func testATableAddedToTheCaptureWhileTheAgentIsStoppedIsSnapshotted() throws {
        try tool("cdc-agent", ["install", "--db", db, "--tables", "a"])
        try captureApplyCheck()
        try tool("cdc-agent", ["install", "--db", db, "--tables", "a,b"])
        try write("INSERT INTO b VALUES (3, 'b3')")
        try captureApplyCheck()
        XCTAssertEqual(try Connection(path: replica, mode: .readOnly).scalar("SELECT count(*) FROM b"), .integer(3))
    }

    func testRefusalsChangeNothing() throws {
        // Not installed yet: the agent refuses before it creates a log.
        let notInstalled = try tool("cdc-agent", ["run", "--db", db, "--log", log, "--mode", "triggers", "--once"], expect: 2)
        XCTAssertTrue(notInstalled.standardError.contains("cdc-agent install"), notInstalled.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: log), "a refused run leaves no event log behind")

        // Another SQLite file given as the log is left exactly as it was (not even its journal mode).
        let foreign = dir.path("foreign.db")
        try write("CREATE TABLE notes(x); INSERT INTO notes VALUES (1)", to: foreign)
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        try tool("cdc-agent", ["install", "--db", db])
        try tool("cdc-agent", ["run", "--db", db, "--log", foreign, "--once"], expect: 2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: foreign)), before)

        // A log, a replica or an empty file given as the service database is refused.
        try captureApplyCheck()
        for notASource in [log, replica] {
            let out = try tool("cdc-agent", ["install", "--db", notASource], expect: 2)
            XCTAssertTrue(out.standardError.contains("not a service database"), out.standardError)
        }
        FileManager.default.createFile(atPath: dir.path("empty.db"), contents: nil)
        try tool("cdc-agent", ["install", "--db", dir.path("empty.db")], expect: 2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir.path("empty.db"))).count, 0)
        let logAsSource = try tool("replica-check", ["--source", log, "--replica", replica], expect: 2)
        XCTAssertTrue(logAsSource.standardError.contains("not a source"), logAsSource.standardError)
        try tool("replica-check", ["--source", replica, "--replica", replica], expect: 2)
    }

    /// A captured table with no rows has no read-model table yet (the sink creates one with
    /// its first event); that is consistent, not a divergence.
    func testAnEmptyCapturedTableIsConsistent() throws {
        try write("CREATE TABLE empty_one(id INTEGER PRIMARY KEY, v)")
        try tool("cdc-agent", ["install", "--db", db])
        try captureApplyCheck()
    }

    /// A restore followed by as many writes as were captured since the backup brings the
    /// change table's sequence back to the consumed position: only the source's recorded
    /// log position tells the two histories apart.
    func testARestoreHiddenByLaterWritesIsStillDetected() throws {
        try tool("cdc-agent", ["install", "--db", db])
        try write("INSERT INTO a VALUES (3, 'a3')")
        try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"])
        let backup = dir.path("backup.db")
        try write("VACUUM INTO '\(backup)'")
        try write("INSERT INTO a VALUES (4, 'w'); UPDATE a SET v = 'X' WHERE id = 1; DELETE FROM a WHERE id = 2")
        try captureApplyCheck()
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        try FileManager.default.removeItem(atPath: db)
        try FileManager.default.copyItem(atPath: backup, toPath: db)
        try write("PRAGMA journal_mode=WAL")
        for id in 10...14 { try write("INSERT INTO a VALUES (\(id), 'after restore')") }
        let run = try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"])
        XCTAssertTrue(run.standardError.contains("resync"), run.standardError)
        try tool("cdc-sink", ["--log", log, "--replica", replica])
        try tool("replica-check", ["--source", db, "--replica", replica, "--log", log])
    }

    /// Events removed from the end of the log by hand would make the agent reuse their LSNs;
    /// it refuses instead.
    func testALogMissingItsNewestEventsIsRefused() throws {
        try tool("cdc-agent", ["install", "--db", db])
        try captureApplyCheck()
        try write("INSERT INTO a VALUES (5, 'x')")
        try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"])
        try write("DELETE FROM cdc_events WHERE lsn = (SELECT max(lsn) FROM cdc_events)", to: log)
        let refused = try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"], expect: 2)
        XCTAssertTrue(refused.standardError.contains("reuse LSNs"), refused.standardError)
    }

    /// A symlink to the source is the same source: the second agent is refused.
    func testASymlinkedPathDoesNotGetPastTheAgentLock() throws {
        try tool("cdc-agent", ["install", "--db", db])
        let link = dir.path("link.db")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: db)
        let agent = try Daemon("cdc-agent", ["run", "--db", db, "--log", log])
        defer { agent.stop() }
        // Wait until the daemon holds the lock (its log exists once it has started).
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: log), Date() < deadline { usleep(10_000) }
        usleep(200_000)
        let second = try tool("cdc-agent", ["run", "--db", link, "--log", dir.path("other.db"), "--once"], expect: 2)
        XCTAssertTrue(second.standardError.contains("another cdc-agent"), second.standardError)
    }
}
