import CDCCapture
import CDCCore
import CDCSQLite
import CDCTestSupport
import CDCTransport
import XCTest

/// One agent per source: a second capture of the same database is refused, whatever log it
/// writes, because two agents would split the change table between them.
final class AgentLockTests: XCTestCase {
    func testASecondAgentOnTheSameSourceIsRefusedUntilTheFirstCloses() throws {
        let dir = try TemporaryDirectory(prefix: "agent-lock")
        let db = dir.path("svc.db")
        let source = try Connection(path: db, mode: .create)
        try source.execute("PRAGMA journal_mode=WAL")
        try source.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try ChangeTableInstaller(connection: source, logger: .silent).install(tables: nil)

        let first = try ChangeTableCapture(sourcePath: db, log: try EventLog(path: dir.path("a.db"), create: true), service: nil, logger: .silent)
        XCTAssertThrowsError(try ChangeTableCapture(sourcePath: db, log: try EventLog(path: dir.path("b.db"), create: true), service: nil, logger: .silent)) { error in
            guard case CaptureError.anotherAgentRunning(_, _, let pid)? = error as? CaptureError else { return XCTFail("\(error)") }
            XCTAssertEqual(pid, getpid())
            XCTAssertTrue(String(describing: error).contains("one agent per source"), "\(error)")
        }

        // The binary says so in one line and exits 2, without touching the change table.
        try source.execute("INSERT INTO t VALUES (1, 'x')")
        let second = try runProgram(Products.executable("cdc-agent"), ["run", "--db", db, "--log", dir.path("c.db"), "--once"])
        XCTAssertEqual(second.status, 2)
        XCTAssertTrue(second.standardError.contains("another cdc-agent"), second.standardError)
        XCTAssertEqual(second.standardError.split(separator: "\n").count, 1, second.standardError)
        XCTAssertEqual(try source.scalar("SELECT count(*) FROM _cdc_changes"), .integer(1))

        try first.close()
        let after = try ChangeTableCapture(sourcePath: db, log: try EventLog(path: dir.path("a.db")), service: nil, logger: .silent)
        XCTAssertGreaterThan(try after.captureAvailable(), 0)
        try after.close()
    }
}
