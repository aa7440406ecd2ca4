import CDCCapture
import CDCCore
import CDCSQLite
import CDCTestSupport
import CDCTransport
import Foundation
import XCTest

/// Runs the real binaries: `cdc-agent status` while the daemon runs (with a `cdc-sink
/// --follow` acknowledging to the log), `run --metrics-file`, and bad input.
final class StatusExecutableTests: XCTestCase {
    var agent: String { productsFolder(for: Self.self).appendingPathComponent("cdc-agent").path }
    var sink: String { productsFolder(for: Self.self).appendingPathComponent("cdc-sink").path }

    override func setUpWithError() throws {
        for tool in [agent, sink] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("\(tool) is not built next to the test bundle; run swift build first")
        }
    }

    func assertBadInput(_ arguments: [String], mentions word: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runProcess(agent, arguments)
        XCTAssertEqual(r.code, 2, "exit code for \(arguments): \(r.err)", file: file, line: line)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one line on stderr, got: \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(word), "stderr should mention \(word): \(r.err)", file: file, line: line)
        XCTAssertEqual(r.out, "", "nothing on stdout", file: file, line: line)
    }

    func testBadInput() throws {
        let tmp = try TemporaryFolder()
        let db = tmp.path("s.db"), log = tmp.path("e.db")
        try makeDatabase(at: db, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY);").close()
        XCTAssertEqual(try runProcess(agent, ["run", "--db", db, "--log", log, "--once"]).code, 0)
        try assertBadInput(["status", "--db", tmp.path("missing.db"), "--log", log], mentions: "no such file")
        try assertBadInput(["status", "--db", db, "--log", tmp.path("missing.db")], mentions: "no such file")
        try assertBadInput(["status", "--db", tmp.url.path, "--log", log], mentions: "no such file")
        try assertBadInput(["status", "--db", db], mentions: "--log")
        try assertBadInput(["status", "--db", db, "--log", log, "--verbose"], mentions: "unknown argument")
        let junk = tmp.path("junk.db")
        try Data("this is not a database, just text that is long enough to fill a header".utf8).write(to: URL(fileURLWithPath: junk))
        try assertBadInput(["status", "--db", junk, "--log", log], mentions: "not an SQLite database")
        try assertBadInput(["status", "--db", db, "--log", junk], mentions: "not a database")
        try assertBadInput(["status", "--db", db, "--log", db], mentions: "not a cdc event log")
        // The log of another database.
        let other = tmp.path("other.db")
        try makeDatabase(at: other, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY);").close()
        try assertBadInput(["status", "--db", other, "--log", log], mentions: "use one log per source database")
        // A log no agent has claimed yet.
        try EventLog(path: tmp.path("new.db"), create: true).close()
        try assertBadInput(["status", "--db", db, "--log", tmp.path("new.db")], mentions: "no agent has captured")
        // The daemon's new options.
        try assertBadInput(["run", "--db", db, "--log", log, "--heartbeat-interval", "5"], mentions: "--heartbeat-interval")
        try assertBadInput(["run", "--db", db, "--log", log, "--heartbeat-interval", "10ms"], mentions: "--heartbeat-interval")
        try assertBadInput(["run", "--db", db, "--log", log, "--metrics-file", tmp.path("no/such/cdc.prom")], mentions: "does not exist")
        try assertBadInput(["run", "--db", db, "--log", log, "--metrics-file", tmp.path("cdc.prom"), "--once"], mentions: "--once")
        try assertBadInput(["run", "--db", db, "--log", log, "--metrics-interval", "10ms"], mentions: "--metrics-interval")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("cdc.prom")))
        // Read-only: status changed nothing in the log.
        XCTAssertEqual(try runProcess(agent, ["status", "--db", db, "--log", log]).code, 0)
        XCTAssertEqual(try EventLog(path: log, readOnly: true).sinkAcknowledgements(), [])
    }

    /// The agent runs with heartbeats and a metrics file, a sink follows: status shows the
    /// sink caught up (lag 0) once it has applied the heartbeats, and the metrics file says
    /// the same.
    func testStatusWhileTheAgentAndASinkRun() throws {
        let tmp = try TemporaryFolder()
        let db = tmp.path("orders.db"), log = tmp.path("orders-events.db"), replica = tmp.path("orders-read.db"), metrics = tmp.path("cdc.prom")
        let writer = try makeDatabase(at: db, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 'a');")
        let daemon = try Daemon("cdc-agent", ["run", "--db", db, "--log", log, "--heartbeat-interval", "200ms",
                                              "--metrics-file", metrics, "--metrics-interval", "1s"])
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: log) || ((try? EventLog(path: log, readOnly: true).lastLSN()) ?? .zero) < LSN(3), Date() < deadline { usleep(10_000) }
        let follower = try Daemon("cdc-sink", ["--log", log, "--replica", replica, "--follow", "--poll-interval", "5ms"])
        try writer.execute("INSERT INTO t VALUES (2, 'b')")

        // Wait until the sink's acknowledgement names a heartbeat after the insert.
        var status: [String: Any] = [:]
        var sinks: [[String: Any]] = []
        while Date() < deadline {
            let r = try runProcess(agent, ["status", "--db", db, "--log", log, "--json"])
            XCTAssertEqual(r.code, 0, r.err)
            status = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
            sinks = status["sinks"] as? [[String: Any]] ?? []
            if let offset = sinks.first?["offset"] as? Int, offset >= 6, sinks.first?["lag_events"] as? Int == 0 { break }
            usleep(50_000)
        }
        XCTAssertEqual(sinks.count, 1, "\(status)")
        XCTAssertEqual(sinks.first?["sink"] as? String, URL(fileURLWithPath: replica).standardizedFileURL.path)
        XCTAssertEqual(sinks.first?["lag_seconds"] as? Double, 0)
        XCTAssertGreaterThan((status["log"] as? [String: Any])?["last_lsn"] as? Int ?? 0, 4, "heartbeats after the insert")
        XCTAssertEqual((status["source"] as? [String: Any])?["unread_wal_frames"] as? Int, 0)
        XCTAssertEqual((status["resync"] as? [String: Any])?["running"] as? Bool, false)

        let text = try runProcess(agent, ["status", "--db", db, "--log", log])
        XCTAssertEqual(text.code, 0)
        XCTAssertTrue(text.out.contains("orders (\(EventLog.canonicalSourcePath(db))), wal mode"), text.out)
        XCTAssertTrue(text.out.contains("SINK"), text.out)

        while !FileManager.default.fileExists(atPath: metrics), Date() < deadline { usleep(10_000) }
        let parsed = try PrometheusText(try String(contentsOfFile: metrics, encoding: .utf8))
        XCTAssertNotNil(parsed.value("cdc_log_last_lsn", ["service": "orders"]))
        XCTAssertEqual(follower.stop(), 0)
        XCTAssertEqual(daemon.stop(), 0)
        // The file written at the stop has the sink's last acknowledgement.
        let final = try PrometheusText(try String(contentsOfFile: metrics, encoding: .utf8))
        let sinkLabels = ["service": "orders", "sink": URL(fileURLWithPath: replica).standardizedFileURL.path]
        XCTAssertNotNil(final.value("cdc_sink_offset_lsn", sinkLabels))
        XCTAssertEqual(final.value("cdc_resync_running", ["service": "orders"]), 0)
    }

    /// A failed `--once` run leaves its error in the log for status to show.
    func testAFailedRunLeavesItsError() throws {
        let tmp = try TemporaryFolder()
        let db = tmp.path("s.db"), log = tmp.path("e.db")
        let c = try makeDatabase(at: db, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY);")
        XCTAssertEqual(try runProcess(agent, ["install", "--db", db]).code, 0)
        XCTAssertEqual(try runProcess(agent, ["run", "--db", db, "--log", log, "--once"]).code, 0)
        // A change row that is not of the triggers' shape: the capture fails on it.
        try c.execute("INSERT INTO _cdc_changes(tbl, gen, op, ts_jd) VALUES (999999, 1, 42, 0)")
        let failed = try runProcess(agent, ["run", "--db", db, "--log", log, "--once"])
        XCTAssertNotEqual(failed.code, 0)
        let r = try runProcess(agent, ["status", "--db", db, "--log", log, "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let status = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let error = try XCTUnwrap(status["last_error"] as? [String: Any], "\(status)")
        XCTAssertTrue(failed.err.contains(error["message"] as? String ?? "?"), "\(failed.err) vs \(error)")
        XCTAssertEqual((status["source"] as? [String: Any])?["pending_change_rows"] as? Int, 1)
    }
}
