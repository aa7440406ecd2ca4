import CDCCore
import CDCSQLite
import CDCTestSupport
import CDCTransport
import Foundation
import XCTest

/// A kill inside the append of a transaction larger than a batch (`CDC_FAULT_KILL_AT=txn.batch`),
/// then a restart: the complete transactions committed before the large one are in the log
/// exactly once, in both modes. In WAL mode the large transaction's first batch may appear
/// twice (docs/wal-capture.md); before the fix, the small transactions that shared its first
/// batch were appended without a position and came back too (found by scripts/soak/kill9.py).
final class LargeTransactionKillTests: XCTestCase {
    func testWALMode() throws { try check(mode: "wal") }
    func testTriggerMode() throws { try check(mode: "triggers") }

    private func check(mode: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try TemporaryDirectory(prefix: "kill-large-\(mode)")
        let db = dir.path("s.db"), logPath = dir.path("e.db")
        // Kept open for the whole test, as a service's connection is: the WAL never goes away.
        let source = try Connection(path: db, mode: .create)
        try source.execute("PRAGMA journal_mode=WAL")
        try source.execute("PRAGMA wal_autocheckpoint=0")
        try source.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let agent = Products.executable("cdc-agent")
        if mode == "triggers" {
            let installed = try runProgram(agent, ["install", "--db", db])
            XCTAssertEqual(installed.status, 0, installed.standardError, file: file, line: line)
        }
        let run = ["run", "--db", db, "--log", logPath, "--mode", mode, "--once", "--batch-size", "100"]
        let first = try runProgram(agent, run)
        XCTAssertEqual(first.status, 0, first.standardError, file: file, line: line)
        for i in 1...5 { try source.execute("INSERT INTO t VALUES (?, 'small')", [.integer(Int64(i))]) }
        try source.transaction {
            for i in 1001...1300 { try source.execute("INSERT INTO t VALUES (?, 'large')", [.integer(Int64(i))]) }
        }
        let killed = try runProgram(agent, run, environment: ["CDC_FAULT_KILL_AT": "txn.batch:1"])
        XCTAssertEqual(killed.status, SIGKILL, "the agent reached txn.batch and killed itself: \(killed.standardError)", file: file, line: line)
        let again = try runProgram(agent, run)
        XCTAssertEqual(again.status, 0, again.standardError, file: file, line: line)

        let log = try EventLog(path: logPath, readOnly: true)
        var inserts: [Int64: Int] = [:]
        for event in try log.read(after: .zero, limit: 100_000) {
            guard let change = event.change, change.operation == .insert, case .integer(let id)? = change.key.first else { continue }
            inserts[id, default: 0] += 1
        }
        for id in Int64(1)...5 {
            XCTAssertEqual(inserts[id], 1, "small transaction \(id) is in the log exactly once", file: file, line: line)
        }
        for id in Int64(1001)...1300 {
            XCTAssertGreaterThanOrEqual(inserts[id] ?? 0, 1, "row \(id) of the large transaction is in the log", file: file, line: line)
            if mode == "triggers" { XCTAssertEqual(inserts[id], 1, "trigger mode continues the group: row \(id) once", file: file, line: line) }
        }
        try source.close()
    }
}
