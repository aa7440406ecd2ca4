import CDCCore
import CDCSQLite
@testable import CDCSinks
import CDCTransport
import XCTest

/// The sink's side of lag reporting: the applied event's time stored with the offset, and the
/// offset acknowledged to the log when the log can be written (and only then).
final class AcknowledgementTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    /// A log holding `events`, created by "the agent".
    func makeLog(_ events: [Event]) throws -> String {
        let path = folder.path("events.db")
        let log = try EventLog(path: path, create: true)
        try log.claim(for: Fixture.source)
        try log.append(events)
        try log.close()
        return path
    }

    /// A heartbeat is applied like any event: the offset moves to it, and its time becomes
    /// the applied event time, so the lag is measured from it.
    func testHeartbeatMovesOffsetAndEventTime() throws {
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        XCTAssertEqual(try sink.progress, SinkProgress(appliedLSN: .zero, appliedEventTimestampMilliseconds: nil, updatedMilliseconds: nil))
        try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])
        XCTAssertEqual(try sink.progress.appliedEventTimestampMilliseconds, 1_700_000_000_001)
        let heartbeat = Event(lsn: LSN(2), source: Fixture.source, timestampMilliseconds: 1_700_000_005_000, body: .heartbeat)
        try sink.apply([heartbeat])
        let progress = try sink.progress
        XCTAssertEqual(progress.appliedLSN, LSN(2))
        XCTAssertEqual(progress.appliedEventTimestampMilliseconds, 1_700_000_005_000)
        XCTAssertEqual(progress.lagSeconds(now: 1_700_000_007_500), 2.5)
        // A replayed older batch leaves the offset and its event time alone.
        try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])
        XCTAssertEqual(try sink.progress.appliedEventTimestampMilliseconds, 1_700_000_005_000)
        // The time of a batch is that of its highest LSN, whatever the order inside it.
        try sink.apply([Fixture.event(4, .heartbeat), Fixture.event(3, .heartbeat)])
        XCTAssertEqual(try sink.progress.appliedEventTimestampMilliseconds, 1_700_000_000_004)
    }

    /// A replica written before the column existed gets it when a sink opens it, and keeps
    /// its offset.
    func testOldReplicaGetsTheEventTimeColumn() throws {
        let path = folder.path("old.db")
        let c = try Connection(path: path, mode: .create)
        try c.execute("""
            CREATE TABLE _cdc_sink_offset(source TEXT PRIMARY KEY, lsn INTEGER NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO _cdc_sink_offset VALUES ('orders', 7, 1);
            """)
        try c.close()
        let sink = try SQLiteSink(replicaPath: path)
        XCTAssertEqual(try sink.progress, SinkProgress(appliedLSN: LSN(7), appliedEventTimestampMilliseconds: nil, updatedMilliseconds: 1))
        try sink.apply([Fixture.event(8, .heartbeat)])
        XCTAssertEqual(try sink.progress.appliedEventTimestampMilliseconds, 1_700_000_000_008)
    }

    /// With a writable log, sync acknowledges the offset it reached, under the replica's
    /// absolute path; the log table is made on first use in a log that lacks it.
    func testSyncAcknowledgesToAWritableLog() throws {
        let logPath = try makeLog([Fixture.insert(1, Fixture.items, Fixture.item(1, "a")), Fixture.event(2, .heartbeat)])
        // A log made before acknowledgements existed.
        let raw = try Connection(path: logPath)
        try raw.execute("DROP TABLE cdc_sink_acks")
        let log = try EventLog(path: logPath)
        XCTAssertEqual(try log.sinkAcknowledgements(), [])
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        XCTAssertEqual(try sink.sync(from: log), 2)
        let acks = try log.sinkAcknowledgements()
        XCTAssertEqual(acks.map(\.sink), [sink.acknowledgementName])
        XCTAssertTrue(sink.acknowledgementName.hasPrefix("/"), "an absolute path")
        XCTAssertEqual(acks.first?.offset, LSN(2))
        XCTAssertEqual(acks.first?.eventTimestampMilliseconds, 1_700_000_000_002)
        XCTAssertEqual(try ReplicaReader(path: folder.path("read.db")).count("SELECT lsn FROM _cdc_sink_offset"), 2)
    }

    /// A read-only log is read all the same; the sink just is not known to the agent.
    func testReadOnlyLogDoesNotStopTheSink() throws {
        let logPath = try makeLog([Fixture.insert(1, Fixture.items, Fixture.item(1, "a")), Fixture.event(2, .heartbeat)])
        let log = try EventLog(path: logPath, readOnly: true)
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        XCTAssertEqual(try sink.sync(from: log), 2)
        XCTAssertEqual(try sink.appliedLSN, LSN(2))
        XCTAssertEqual(try EventLog(path: logPath, readOnly: true).sinkAcknowledgements(), [])
        // Nor does the acknowledger keep trying after the first refusal.
        let acknowledger = SinkAcknowledger(name: "x", intervalMilliseconds: 0, logger: .silent)
        acknowledger.committed(Fixture.event(2, .heartbeat))
        acknowledger.send(to: log)
        XCTAssertTrue(acknowledger.isDisabled)
    }

    /// follow acknowledges after batches (at most once per interval) and when it stops.
    func testFollowAcknowledgesWhenItStops() throws {
        let logPath = try makeLog([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])
        let log = try EventLog(path: logPath)
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        let writer = try EventLog(path: logPath)
        var rounds = 0
        try sink.follow(log, pollInterval: .milliseconds(1)) {
            rounds += 1
            if rounds == 3 { try? writer.append([Fixture.event(2, .heartbeat), Fixture.event(3, .heartbeat)]) }
            return (try? sink.appliedLSN) == LSN(3)
        }
        XCTAssertEqual(try log.sinkAcknowledgements().first?.offset, LSN(3))
    }
}
