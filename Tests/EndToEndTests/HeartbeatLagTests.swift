import CDCCapture
import CDCCore
import CDCSinks
import CDCSQLite
import CDCTestSupport
import CDCTransport
import Foundation
import XCTest

/// Issue 4, point 3: while the source is idle the agent's heartbeats keep a sink's lag in
/// seconds measurable: a sink that has applied everything reports a lag below about one
/// heartbeat interval, however long the source stays idle, and replica-check still finds the
/// replica consistent (heartbeats change no row).
final class HeartbeatLagTests: XCTestCase {
    func testAnIdleSourceKeepsTheSinksLagBounded() throws {
        let dir = try TemporaryDirectory(prefix: "heartbeat-lag")
        let db = dir.path("svc.db"), logPath = dir.path("events.db"), replica = dir.path("read.db")
        let writer = try Connection(path: db, mode: .create)
        try writer.execute("PRAGMA journal_mode=WAL")
        try writer.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'a');")
        let agent = try Daemon("cdc-agent", ["run", "--db", db, "--log", logPath, "--heartbeat-interval", "150ms"])
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: logPath), Date() < deadline { usleep(10_000) }
        usleep(100_000)
        let log = try EventLog(path: logPath)
        let sink = try SQLiteSink(replicaPath: replica)
        try writer.execute("INSERT INTO items VALUES (2, 'b')")
        // Idle for 1.2 s after the insert; the sink syncs now and then, like a follower.
        var lags: [Double] = []
        for _ in 0..<12 {
            usleep(100_000)
            try sink.sync(from: log)
            if let lag = try sink.progress.lagSeconds() { lags.append(lag) }
        }
        XCTAssertEqual(agent.stop(), 0)
        try sink.sync(from: log)  // what came between the last sync and the stop
        let events = try log.read(after: .zero, limit: 1000)
        let insert = try XCTUnwrap(events.last { $0.change?.operation == .insert })
        XCTAssertGreaterThanOrEqual(events.filter { $0.body == .heartbeat && $0.lsn > insert.lsn }.count, 4, "heartbeats while idle")
        XCTAssertEqual(try sink.appliedLSN, try log.lastLSN(), "heartbeats are applied like any event")
        XCTAssertEqual(lags.count, 12)
        // Without heartbeats the last lag would be the time since the insert (≥ 1.2 s).
        XCTAssertLessThan(lags.suffix(6).max() ?? 99, 0.8, "lag stays within about an interval: \(lags)")
        XCTAssertEqual(try log.sinkAcknowledgements().first?.offset, try log.lastLSN())
        try sink.close()

        let check = try runProgram(Products.executable("replica-check"), ["--source", db, "--replica", replica, "--log", logPath])
        XCTAssertEqual(check.status, 0, check.standardOutput + check.standardError)
        XCTAssertTrue(check.standardOutput.contains("0 LSN"), "the replica is not behind: \(check.standardOutput)")
    }
}
