@testable import CDCCapture
import CDCCore
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// Heartbeats: an idle daemon appends one per interval, a busy one none; they take LSNs like
/// any event, keep the capture position exact (restarts resume, a new log continues LSNs),
/// and retention treats them as events. `--once` runs emit none.
final class HeartbeatTests: XCTestCase {
    func whileDaemonRuns(_ capture: AgentCapture, _ options: DaemonOptions, _ body: () throws -> Void) throws {
        try runWhileDaemon(capture, options, body)
    }

    func makeWALSource(_ tmp: TemporaryFolder) throws -> (Connection, EventLog, WALCapture) {
        let writer = try makeDatabase(at: tmp.path("s.db"), sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 'a');")
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try WALCapture(sourcePath: tmp.path("s.db"), log: log, service: "svc", logger: .silent)
        return (writer, log, capture)
    }

    func heartbeats(_ events: [Event]) -> [Event] { events.filter { $0.body == .heartbeat } }

    func testAnIdleDaemonEmitsHeartbeatsAtTheInterval() throws {
        let tmp = try TemporaryFolder()
        let (_, log, capture) = try makeWALSource(tmp)
        try capture.captureAvailable()  // the initial epoch
        let epochEnd = try log.lastLSN()
        let started = EventLog.nowMilliseconds()
        try whileDaemonRuns(capture, DaemonOptions(heartbeatIntervalMilliseconds: 200)) { usleep(1_100_000) }
        let events = try readAll(log)
        XCTAssertEqual(events.map(\.lsn.rawValue), Array(1...Int64(events.count)), "LSNs stay consecutive")
        let beats = heartbeats(events)
        XCTAssertEqual(beats.map(\.lsn), events.filter { $0.lsn > epochEnd }.map(\.lsn), "only heartbeats after the epoch")
        XCTAssertTrue((3...6).contains(beats.count), "about one per 200 ms in 1.1 s: \(beats.count)")
        XCTAssertEqual(capture.statistics.heartbeats, beats.count)
        XCTAssertGreaterThanOrEqual(beats.first?.timestampMilliseconds ?? 0, started + 190, "the first comes an interval after the last append")
        for (a, b) in zip(beats, beats.dropFirst()) {
            XCTAssertGreaterThanOrEqual(b.timestampMilliseconds - a.timestampMilliseconds, 190, "one per interval")
        }
        XCTAssertEqual(beats.first?.source, SourceInfo(service: "svc", database: tmp.path("s.db"), mode: .wal))
        // The stored position moved with them: the status's source LSN is the log's end.
        XCTAssertEqual(try log.agentState()["state_lsn"], .integer(try log.lastLSN().rawValue))
        try capture.close()
    }

    /// While the service commits faster than the interval, every pass appends, and no
    /// heartbeat comes between its changes; once it stops, they resume.
    func testNoHeartbeatWhileTheSourceIsBusy() throws {
        let tmp = try TemporaryFolder()
        let (writer, log, capture) = try makeWALSource(tmp)
        try capture.captureAvailable()
        try whileDaemonRuns(capture, DaemonOptions(heartbeatIntervalMilliseconds: 400)) {
            for i in 2..<80 {
                try writer.execute("INSERT INTO t VALUES (?, 'x')", [.integer(Int64(i))])
                usleep(10_000)
            }
            usleep(1_000_000)
        }
        let events = try readAll(log)
        let changes = events.filter { $0.change?.operation == .insert }
        XCTAssertEqual(changes.count, 78)
        let first = try XCTUnwrap(changes.first?.lsn), last = try XCTUnwrap(changes.last?.lsn)
        XCTAssertEqual(heartbeats(events).filter { $0.lsn > first && $0.lsn < last }.count, 0, "no heartbeat while busy")
        XCTAssertGreaterThanOrEqual(heartbeats(events).filter { $0.lsn > last }.count, 1, "heartbeats once idle")
        try capture.close()
    }

    /// In trigger mode a heartbeat is an empty batch: the source records its LSN, a restart
    /// resumes without a resync, and a new log continues LSNs after the heartbeats.
    func testTriggerModeHeartbeatsKeepThePositionExact() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("s.db")
        let writer = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 'a');")
        try ChangeTableInstaller(connection: writer, logger: .silent).install(tables: nil)
        var log = try EventLog(path: tmp.path("events.db"), create: true)
        var capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()
        try writer.execute("INSERT INTO t VALUES (2, 'b')")
        try whileDaemonRuns(capture, DaemonOptions(pollIntervalMilliseconds: 5, heartbeatIntervalMilliseconds: 100)) { usleep(600_000) }
        try capture.close()
        let events = try readAll(log)
        XCTAssertEqual(events.map(\.lsn.rawValue), Array(1...Int64(events.count)))
        XCTAssertGreaterThanOrEqual(heartbeats(events).count, 3)
        XCTAssertEqual(events.last?.body, .heartbeat)
        let last = try log.lastLSN()
        XCTAssertEqual(try writer.scalar("SELECT value FROM _cdc_meta WHERE key = 'last_lsn'"), .integer(last.rawValue), "the source records the heartbeat's LSN")
        XCTAssertEqual(try log.agentState()["state_lsn"], .integer(last.rawValue))

        // A restart resumes: nothing new, no epoch.
        capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        XCTAssertEqual(try capture.captureAvailable(), 0, "no resync after heartbeats")
        try capture.close()
        try log.close()

        // The log lost right after heartbeats: the new one continues after them.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: tmp.path("events.db") + suffix) }
        log = try EventLog(path: tmp.path("events.db"), create: true)
        capture = try ChangeTableCapture(sourcePath: path, log: log, service: "svc", logger: .silent)
        try capture.captureAvailable()
        XCTAssertEqual(try log.prunedThrough(), last, "no LSN of a heartbeat is reused")
        XCTAssertEqual(try log.read(after: last, limit: 10).first?.typeName, "snapshot_start")
        try capture.close()
    }

    /// Heartbeats are not emitted by one-shot captures, nor when the interval is 0, nor
    /// before the capture has started or while change rows wait.
    func testNoHeartbeatFromOnceRunsOrWhenOff() throws {
        let tmp = try TemporaryFolder()
        let (writer, log, capture) = try makeWALSource(tmp)
        XCTAssertNil(try capture.emitHeartbeat(checkedAt: 1), "not before the capture started")
        for _ in 0..<3 {
            _ = try capture.captureOnce(retention: nil)
            usleep(50_000)
        }
        try whileDaemonRuns(capture, DaemonOptions(heartbeatIntervalMilliseconds: 0)) { usleep(300_000) }
        XCTAssertEqual(heartbeats(try readAll(log)).count, 0)
        try capture.close()
        _ = writer

        let path = tmp.path("t.db")
        let source = try makeDatabase(at: path, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY);")
        try ChangeTableInstaller(connection: source, logger: .silent).install(tables: nil)
        let triggerLog = try EventLog(path: tmp.path("t-events.db"), create: true)
        let triggers = try ChangeTableCapture(sourcePath: path, log: triggerLog, service: nil, logger: .silent)
        XCTAssertNil(try triggers.emitHeartbeat(), "not before the capture started")
        try triggers.captureAvailable()
        try source.execute("INSERT INTO t VALUES (1)")
        XCTAssertNil(try triggers.emitHeartbeat(), "not while a change row waits")
        try triggers.captureAvailable()
        XCTAssertEqual(try triggers.emitHeartbeat(), try triggerLog.lastLSN())
        try triggers.close()
    }

    /// Retention removes heartbeats by age and size like other events; the next heartbeat
    /// continues the LSNs, and a reader at the pruned position reads on.
    func testRetentionTreatsHeartbeatsAsEvents() throws {
        let tmp = try TemporaryFolder()
        let (_, log, capture) = try makeWALSource(tmp)
        try capture.captureAvailable()
        try whileDaemonRuns(capture, DaemonOptions(heartbeatIntervalMilliseconds: 100)) { usleep(350_000) }
        let last = try log.lastLSN()
        XCTAssertEqual(try log.prune(maximumAgeMilliseconds: 1, maximumBytes: nil, now: EventLog.nowMilliseconds() + 60_000), Int(last.rawValue))
        try whileDaemonRuns(capture, DaemonOptions(heartbeatIntervalMilliseconds: 100)) { usleep(250_000) }
        let after = try log.read(after: last, limit: 100)
        XCTAssertGreaterThanOrEqual(after.count, 1)
        XCTAssertEqual(after.first?.lsn, last.next)
        XCTAssertEqual(Set(after.map(\.typeName)), ["heartbeat"])
        try capture.close()
    }
}

/// Runs `capture`'s daemon on another thread while `body` runs, then stops it and waits.
/// - Throws: what `body` throws, else what the daemon threw.
func runWhileDaemon(_ capture: AgentCapture, _ options: DaemonOptions, _ body: () throws -> Void) throws {
    let stop = Flag(), finished = Flag()
    let box = CaptureBox(capture)
    let thread = Thread {
        do { try box.capture.run(until: { stop.isSet }, options: options) } catch { box.failure = error }
        finished.set()
    }
    thread.start()
    defer {
        stop.set()
        while !finished.isSet { usleep(1_000) }
    }
    try body()
    stop.set()
    while !finished.isSet { usleep(1_000) }
    if let failure = box.failure { throw failure }
}

/// A flag set on one thread and read on another.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// Hands a capture (not `Sendable`: one owner at a time) to the daemon thread; the test
/// touches it again only after the thread finished.
final class CaptureBox: @unchecked Sendable {
    let capture: AgentCapture
    var failure: Error?
    init(_ capture: AgentCapture) { self.capture = capture }
}
