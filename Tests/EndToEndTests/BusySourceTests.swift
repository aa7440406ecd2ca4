import CDCCore
import CDCReconcile
import CDCSinks
import CDCSQLite
import CDCTestSupport
import CDCTransport
import Foundation
import XCTest

/// A busy source (issue 4, point 6): the service holds its write lock for several times the
/// agent's busy timeout, and several writers commit at once. The agent waits and continues
/// (busy timeout, back-off); it never exits and never drops a change.
final class BusySourceTests: XCTestCase {
    func testTheAgentWaitsOutALongWriteLockAndManyWriters() throws {
        for mode in ["triggers", "wal"] {
            let dir = try TemporaryDirectory(prefix: "busy-\(mode)")
            let db = dir.path("svc.db"), logPath = dir.path("events.db"), replica = dir.path("read.db")
            let service = try Connection(path: db, mode: .create)
            try service.execute("PRAGMA journal_mode=WAL")
            try service.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, writer INTEGER, n INTEGER)")
            if mode == "triggers" {
                XCTAssertEqual(try runProgram(Products.executable("cdc-agent"), ["install", "--db", db]).status, 0)
            }
            // The lock is held before the agent starts: its start (trigger mode: the schema
            // check's write; WAL mode: the initial epoch's barrier) meets it first.
            try service.execute("BEGIN IMMEDIATE")
            try service.execute("INSERT INTO t VALUES (0, -1, 0)")
            let agent = try Daemon("cdc-agent", ["run", "--db", db, "--log", logPath, "--mode", mode, "--busy-timeout", "200ms"])
            usleep(2_000_000)
            XCTAssertTrue(agent.isRunning, "\(mode): the agent waits for a lock held 10x its busy timeout")
            try service.execute("COMMIT")

            let writers = 4, perWriter = 150
            let group = DispatchGroup()
            let failures = FailureCount()
            for w in 0..<writers {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        let c = try Connection(path: db, mode: .readWrite, busyTimeoutMilliseconds: 10_000)
                        for i in 0..<perWriter {
                            try c.execute("INSERT INTO t VALUES (?, ?, ?)", [.integer(Int64(1 + w * 1_000 + i)), .integer(Int64(w)), .integer(Int64(i))])
                        }
                        try c.close()
                    } catch {
                        failures.add()
                    }
                }.start()
            }
            // Once more, the lock held for long while the agent streams.
            usleep(50_000)
            try service.execute("BEGIN IMMEDIATE")
            usleep(1_500_000)
            try service.execute("COMMIT")
            group.wait()
            XCTAssertEqual(failures.value, 0, "\(mode): the service's writers never failed")
            try service.execute("INSERT INTO t VALUES (100000, -1, 1)")

            // Wait until the log holds the last row, then stop the agent cleanly.
            let expected = 2 + writers * perWriter
            let deadline = Date().addingTimeInterval(60)
            var seen: [Int64: Int] = [:]
            while Date() < deadline {
                seen = [:]
                if FileManager.default.fileExists(atPath: logPath), let log = try? EventLog(path: logPath, readOnly: true) {
                    for event in (try? log.read(after: .zero, limit: 1_000_000)) ?? [] {
                        guard case .change(let c) = event.body, c.operation == .insert || c.operation == .snapshot,
                              case .integer(let id)? = c.after?.first else { continue }
                        seen[id, default: 0] += 1
                    }
                    try? log.close()
                }
                if seen.count >= expected { break }
                usleep(100_000)
            }
            XCTAssertTrue(agent.isRunning, "\(mode): the agent is still running")
            XCTAssertEqual(agent.stop(), 0, "\(mode): a clean stop")
            XCTAssertEqual(seen.count, expected, "\(mode): every committed row is in the log")
            XCTAssertEqual(seen.values.filter { $0 != 1 }.count, 0, "\(mode): each row once (an insert or a snapshot row)")

            let log = try EventLog(path: logPath, readOnly: true)
            let sink = try SQLiteSink(replicaPath: replica)
            try sink.sync(from: log)
            try sink.close()
            try log.close()
            let report = try ReplicaChecker(sourcePath: db, replicaPath: replica).run()
            XCTAssertTrue(report.isConsistent, "\(mode): \(report.render(json: false))")
            try service.close()
        }
    }
}

/// Failures counted across writer threads.
private final class FailureCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}
