@testable import CDCCapture
import CDCCore
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// The figures of ``AgentStatus`` read from a log and its source, their text, JSON and
/// Prometheus forms, and the metrics file's atomic replacement.
final class StatusTests: XCTestCase {
    /// A trigger-mode source captured once, then three more changes left pending.
    func makeTriggerSource(_ tmp: TemporaryFolder) throws -> (source: Connection, log: EventLog) {
        let path = tmp.path("orders.db")
        let source = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 'a');")
        try ChangeTableInstaller(connection: source, logger: .silent).install(tables: nil)
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try ChangeTableCapture(sourcePath: path, log: log, service: "orders", logger: .silent)
        try capture.captureAvailable()  // epoch: LSNs 1-3
        try source.execute("INSERT INTO t VALUES (2, 'b')")
        try capture.captureAvailable()  // LSN 4
        try capture.close()
        try source.execute("INSERT INTO t VALUES (3, 'c'); INSERT INTO t VALUES (4, 'd'); UPDATE t SET v = 'e' WHERE id = 1;")
        return (source, log)
    }

    func testFiguresInTriggerMode() throws {
        let tmp = try TemporaryFolder()
        let (_, log) = try makeTriggerSource(tmp)
        let ts4 = try XCTUnwrap(try log.timestamp(ofEventAt: LSN(4)))
        try log.acknowledge(sink: "/r/caught-up.db", offset: LSN(4), eventTimestampMilliseconds: ts4, now: ts4 + 10)
        try log.acknowledge(sink: "/r/behind.db", offset: LSN(2), eventTimestampMilliseconds: nil, now: ts4 + 20)
        let now = ts4 + 5_000
        var status = try AgentStatus.read(databasePath: tmp.path("orders.db"), logPath: tmp.path("events.db"), now: now)
        XCTAssertEqual(status.source.service, "orders")
        XCTAssertEqual(status.source.databasePath, EventLog.canonicalSourcePath(tmp.path("orders.db")))
        XCTAssertEqual(status.source.mode, .triggers)
        XCTAssertEqual(status.source.capturedLSN, LSN(4))
        XCTAssertEqual(status.source.pendingChangeRows, 3)
        XCTAssertNil(status.source.unreadWALFrames)
        XCTAssertEqual(status.log.lastLSN, LSN(4))
        XCTAssertEqual(status.log.prunedThrough, .zero)
        XCTAssertEqual(status.log.lastEventTimestampMilliseconds, ts4)
        XCTAssertEqual(status.sinks.map(\.acknowledgement.sink), ["/r/behind.db", "/r/caught-up.db"])
        XCTAssertEqual(status.sinks.map(\.lagEvents), [2, 0])
        // Behind: the age of the oldest event it lacks (LSN 3); caught up: 0.
        let ts3 = try XCTUnwrap(try log.timestamp(ofEventAt: LSN(3)))
        XCTAssertEqual(status.sinks.map(\.lagSeconds), [Double(now - ts3) / 1000, 0])
        XCTAssertFalse(status.isResyncRunning)
        XCTAssertEqual(status.pendingSnapshotRequests, 0)
        XCTAssertNil(status.lastError)

        // An epoch under way (its start marker is the newest marker), a request, an error.
        let source = SourceInfo(service: "orders", database: tmp.path("orders.db"), mode: .triggers)
        try log.append([Event(lsn: LSN(5), source: source, timestampMilliseconds: ts4 + 100, body: .snapshotStart(SnapshotEpoch(epoch: LSN(5), tables: ["t"], reason: "resync"))),
                        Event(lsn: LSN(6), source: source, timestampMilliseconds: ts4 + 100, body: .heartbeat)])
        _ = try log.requestSnapshot(requester: "test", tables: [])
        try AgentErrorRecord(message: "s.db: database is locked", timestampMilliseconds: ts4 + 200).save(to: log)
        status = try AgentStatus.read(databasePath: tmp.path("orders.db"), logPath: tmp.path("events.db"), now: now)
        XCTAssertEqual(status.runningEpoch, AgentStatus.RunningEpoch(epoch: LSN(5), reason: "resync", tables: ["t"], startedMilliseconds: ts4 + 100, eventsSoFar: 1))
        XCTAssertEqual(status.pendingSnapshotRequests, 1)
        XCTAssertEqual(status.lastError, AgentErrorRecord(message: "s.db: database is locked", timestampMilliseconds: ts4 + 200))
        XCTAssertEqual(status.sinks.map(\.lagEvents), [4, 2])
        XCTAssertEqual(status.sinks.last?.lagSeconds, Double(now - (ts4 + 100)) / 1000, "the oldest event it lacks is now LSN 5")
    }

    /// WAL mode: committed frames after the stored position count as unread until captured.
    func testUnreadWALFrames() throws {
        let tmp = try TemporaryFolder()
        let writer = try makeDatabase(at: tmp.path("s.db"), sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v);")
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try WALCapture(sourcePath: tmp.path("s.db"), log: log, service: nil, logger: .silent)
        try capture.captureAvailable()
        func read() throws -> AgentStatus { try AgentStatus.read(databasePath: tmp.path("s.db"), logPath: tmp.path("events.db")) }
        XCTAssertEqual(try read().source.unreadWALFrames, 0)
        XCTAssertEqual(try read().source.mode, .wal)
        try writer.execute("INSERT INTO t VALUES (1, 'a')")
        try writer.execute("INSERT INTO t VALUES (2, 'b')")
        XCTAssertEqual(try read().source.unreadWALFrames, 2, "one page per transaction")
        XCTAssertEqual(try capture.status().source.unreadWALFrames, 2, "the daemon's own view agrees")
        try capture.captureAvailable()
        XCTAssertEqual(try read().source.unreadWALFrames, 0)
        XCTAssertEqual(try capture.status().source.unreadWALFrames, 0)
        XCTAssertEqual(try read().source.capturedLSN, try log.lastLSN())
        try capture.close()
    }

    func testTextAndJSON() throws {
        let tmp = try TemporaryFolder()
        let (_, log) = try makeTriggerSource(tmp)
        try log.acknowledge(sink: "/r/read.db", offset: LSN(3), eventTimestampMilliseconds: nil)
        try AgentErrorRecord(message: "boom \"quoted\"", timestampMilliseconds: 1_000).save(to: log)
        let status = try AgentStatus.read(databasePath: tmp.path("orders.db"), logPath: tmp.path("events.db"))

        let text = status.render(json: false)
        XCTAssertTrue(text.contains("source LSN 4; 3 change rows pending at the source"), text)
        XCTAssertTrue(text.contains("last LSN 4"), text)
        XCTAssertTrue(text.contains("resync      not running"), text)
        XCTAssertTrue(text.contains("last error  1970-01-01T00:00:01.000Z"), text)
        let sinkLine = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("/r/read.db") })
        XCTAssertEqual(sinkLine.split(separator: " ", omittingEmptySubsequences: true).prefix(3), ["/r/read.db", "3", "1"])

        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.render(json: true).utf8)) as? [String: Any])
        let source = try XCTUnwrap(json["source"] as? [String: Any])
        XCTAssertEqual(source["lsn"] as? Int, 4)
        XCTAssertEqual(source["mode"] as? String, "triggers")
        XCTAssertEqual(source["pending_change_rows"] as? Int, 3)
        XCTAssertTrue(source["unread_wal_frames"] is NSNull)
        XCTAssertEqual((json["log"] as? [String: Any])?["last_lsn"] as? Int, 4)
        XCTAssertEqual((json["resync"] as? [String: Any])?["running"] as? Bool, false)
        XCTAssertEqual((json["last_error"] as? [String: Any])?["message"] as? String, "boom \"quoted\"")
        let sinks = try XCTUnwrap(json["sinks"] as? [[String: Any]])
        XCTAssertEqual(sinks.first?["sink"] as? String, "/r/read.db")
        XCTAssertEqual(sinks.first?["lag_events"] as? Int, 1)
        XCTAssertNotNil(sinks.first?["lag_seconds"] as? Double)
    }

    func testPrometheusText() throws {
        let tmp = try TemporaryFolder()
        let (_, log) = try makeTriggerSource(tmp)
        try log.acknowledge(sink: "/r/a \"b\"\\c.db", offset: LSN(1), eventTimestampMilliseconds: nil, now: 1_700_000_000_123)
        let status = try AgentStatus.read(databasePath: tmp.path("orders.db"), logPath: tmp.path("events.db"))
        let parsed = try PrometheusText(status.prometheusText())
        XCTAssertEqual(parsed.value("cdc_log_last_lsn", ["service": "orders"]), 4)
        XCTAssertEqual(parsed.value("cdc_source_captured_lsn", ["service": "orders"]), 4)
        XCTAssertEqual(parsed.value("cdc_source_pending_change_rows", ["service": "orders"]), 3)
        XCTAssertNil(parsed.types["cdc_source_unread_wal_frames"], "a figure that does not apply is left out")
        let sink = ["service": "orders", "sink": "/r/a \"b\"\\c.db"]
        XCTAssertEqual(parsed.value("cdc_sink_offset_lsn", sink), 1)
        XCTAssertEqual(parsed.value("cdc_sink_lag_events", sink), 3)
        XCTAssertNotNil(parsed.value("cdc_sink_lag_seconds", sink))
        XCTAssertEqual(parsed.value("cdc_sink_acknowledged_timestamp_seconds", sink), 1_700_000_000.123)
        XCTAssertEqual(parsed.value("cdc_resync_running", ["service": "orders"]), 0)
        XCTAssertEqual(parsed.value("cdc_last_error_timestamp_seconds", ["service": "orders"]), 0)
        XCTAssertEqual(Set(parsed.types.values), ["gauge"])
        XCTAssertEqual(AgentStatus.seconds(-1_500), "-1.500")
        XCTAssertEqual(AgentStatus.seconds(7), "0.007")
    }

    /// The file is replaced whole: a reader polling it while it is rewritten only ever sees
    /// a complete file, and no temporary file is left.
    func testMetricsFileIsReplacedAtomically() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("cdc.prom")
        let texts = (0..<2).map { n in (0..<2000).map { "# HELP m\($0) x\n# TYPE m\($0) gauge\nm\($0){service=\"s\"} \(n)\n" }.joined() }
        try MetricsFile.write(texts[0], to: path)
        let done = Flag()
        let torn = Flag()
        let reader = Thread {
            while !done.isSet {
                guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { torn.set(); continue }
                if s != texts[0] && s != texts[1] { torn.set() }
            }
        }
        reader.start()
        for i in 0..<200 { try MetricsFile.write(texts[i % 2], to: path) }
        done.set()
        XCTAssertFalse(torn.isSet, "a reader saw a partly written file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path), ["cdc.prom"])
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o644)
        XCTAssertThrowsError(try MetricsFile.write("x", to: tmp.path("missing/cdc.prom"))) { error in
            guard case MetricsFileError.cannotWrite? = error as? MetricsFileError else { return XCTFail("\(error)") }
        }
    }

    /// The daemon writes the file on start, on its interval and when it stops, with the
    /// daemon's own view of the source.
    func testDaemonWritesTheMetricsFile() throws {
        let tmp = try TemporaryFolder()
        let writer = try makeDatabase(at: tmp.path("s.db"), sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v);")
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try WALCapture(sourcePath: tmp.path("s.db"), log: log, service: "svc", logger: .silent)
        let metrics = tmp.path("cdc.prom")
        let options = DaemonOptions(heartbeatIntervalMilliseconds: 0, metricsFilePath: metrics, metricsIntervalMilliseconds: 100)
        try runWhileDaemon(capture, options) {
            let deadline = Date().addingTimeInterval(10)
            while !FileManager.default.fileExists(atPath: metrics), Date() < deadline { usleep(5_000) }
            try writer.execute("INSERT INTO t VALUES (1, 'a')")
            let lsn = try EventLog(path: tmp.path("events.db"), readOnly: true)
            while try lsn.lastLSN() < LSN(3), Date() < deadline { usleep(5_000) }
            usleep(250_000)
            let parsed = try PrometheusText(try String(contentsOfFile: metrics, encoding: .utf8))
            XCTAssertEqual(parsed.value("cdc_log_last_lsn", ["service": "svc"]), 3)
        }
        let parsed = try PrometheusText(try String(contentsOfFile: metrics, encoding: .utf8))
        XCTAssertEqual(parsed.value("cdc_source_unread_wal_frames", ["service": "svc"]), 0)
        XCTAssertEqual(parsed.value("cdc_source_captured_lsn", ["service": "svc"]), 3)
        try capture.close()
    }
}

/// A strict reader of the Prometheus text format as node_exporter's textfile collector
/// reads it: `# HELP` and `# TYPE` before a family's samples, one sample per line,
/// `name{label="value",…} number`, escaped label values.
struct PrometheusText {
    struct Malformed: Error, CustomStringConvertible { var description: String }
    var types: [String: String] = [:]
    var samples: [String: [([String: String], Double)]] = [:]

    init(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw Malformed(description: "no final newline") }
        var helped = Set<String>()
        for line in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# HELP ") {
                let name = String(line.dropFirst(7).prefix { $0 != " " })
                guard helped.insert(name).inserted else { throw Malformed(description: "HELP twice for \(name)") }
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, helped.contains(String(parts[0])), types[String(parts[0])] == nil else { throw Malformed(description: line) }
                types[String(parts[0])] = String(parts[1])
            } else {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                guard types[name] != nil, name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil else {
                    throw Malformed(description: "sample before its TYPE, or a bad name: \(line)")
                }
                var rest = Substring(line.dropFirst(name.count))
                var labels: [String: String] = [:]
                if rest.first == "{" {
                    rest = rest.dropFirst()
                    while rest.first != "}" {
                        let label = String(rest.prefix { $0 != "=" })
                        rest = rest.dropFirst(label.count)
                        guard rest.hasPrefix("=\"") else { throw Malformed(description: line) }
                        rest = rest.dropFirst(2)
                        var value = ""
                        while let c = rest.first, c != "\"" {
                            rest = rest.dropFirst()
                            if c == "\\" {
                                guard let e = rest.first else { throw Malformed(description: line) }
                                rest = rest.dropFirst()
                                switch e {
                                case "\\": value.append("\\")
                                case "\"": value.append("\"")
                                case "n": value.append("\n")
                                default: throw Malformed(description: "bad escape in \(line)")
                                }
                            } else {
                                value.append(c)
                            }
                        }
                        guard rest.first == "\"" else { throw Malformed(description: line) }
                        rest = rest.dropFirst()
                        labels[label] = value
                        if rest.first == "," { rest = rest.dropFirst() }
                    }
                    rest = rest.dropFirst()
                }
                guard rest.first == " ", let value = Double(rest.dropFirst()) else { throw Malformed(description: "bad value: \(line)") }
                samples[name, default: []].append((labels, value))
            }
        }
    }

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples[name]?.first { $0.0 == labels }?.1
    }
}
