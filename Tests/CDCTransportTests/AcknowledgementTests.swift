import CDCCore
import CDCSQLite
@testable import CDCTransport
import Foundation
import XCTest

/// Sink acknowledgements, the newest snapshot marker, and the source path the log records:
/// what `cdc-agent status` reads from a log.
final class AcknowledgementTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-ack-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try FileManager.default.removeItem(at: folder) }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    private func marker(_ lsn: Int64, start: Bool, epoch: Int64, ts: Int64 = 5) -> Event {
        let e = SnapshotEpoch(epoch: LSN(epoch), tables: ["items"], reason: "resync")
        return Event(lsn: LSN(lsn), source: EventLogTests.source, timestampMilliseconds: ts, body: start ? .snapshotStart(e) : .snapshotEnd(e))
    }

    func testAcknowledgeReplaceListAndForget() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        XCTAssertEqual(try log.sinkAcknowledgements(), [])
        try log.acknowledge(sink: "/b/read.db", offset: LSN(7), eventTimestampMilliseconds: 70, now: 100)
        try log.acknowledge(sink: "/a/read.db", offset: LSN(3), eventTimestampMilliseconds: nil, now: 101)
        XCTAssertEqual(try log.sinkAcknowledgements(), [
            SinkAcknowledgement(sink: "/a/read.db", offset: LSN(3), eventTimestampMilliseconds: nil, acknowledgedMilliseconds: 101),
            SinkAcknowledgement(sink: "/b/read.db", offset: LSN(7), eventTimestampMilliseconds: 70, acknowledgedMilliseconds: 100),
        ])
        // A replica rebuilt under the same name reports its lower offset.
        try log.acknowledge(sink: "/b/read.db", offset: LSN(1), eventTimestampMilliseconds: 10, now: 102)
        XCTAssertEqual(try log.sinkAcknowledgements().last?.offset, LSN(1))
        // Another connection (the agent's, `cdc-agent status`) reads them.
        XCTAssertEqual(try EventLog(path: path("e.db"), readOnly: true).sinkAcknowledgements().count, 2)
        XCTAssertTrue(try log.forgetSink("/a/read.db"))
        XCTAssertFalse(try log.forgetSink("/a/read.db"))
        XCTAssertEqual(try log.sinkAcknowledgements().map(\.sink), ["/b/read.db"])
    }

    /// Acknowledging needs write access: a read-only log refuses with SQLITE_READONLY (the
    /// sink treats that as "not known to the agent" and goes on).
    func testReadOnlyLogRefusesAcknowledgements() throws {
        try EventLog(path: path("e.db"), create: true).close()
        let log = try EventLog(path: path("e.db"), readOnly: true)
        XCTAssertThrowsError(try log.acknowledge(sink: "s", offset: LSN(1), eventTimestampMilliseconds: nil)) { error in
            XCTAssertEqual((error as? SQLiteError)?.code.primary, .readOnly, "\(error)")
        }
    }

    /// The newest marker is found through the partial index, and says whether an epoch is open.
    func testLastSnapshotMarker() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        XCTAssertNil(try log.lastSnapshotMarker())
        try log.append([marker(1, start: true, epoch: 1), EventLogTests.event(2), marker(3, start: false, epoch: 1)])
        var m = try XCTUnwrap(try log.lastSnapshotMarker())
        XCTAssertEqual(m.lsn, LSN(3))
        XCTAssertFalse(m.isStart)
        try log.append([EventLogTests.event(4), marker(5, start: true, epoch: 5, ts: 9), EventLogTests.event(6)])
        m = try XCTUnwrap(try log.lastSnapshotMarker())
        XCTAssertEqual(m.lsn, LSN(5))
        XCTAssertTrue(m.isStart)
        XCTAssertEqual(m.epoch, SnapshotEpoch(epoch: LSN(5), tables: ["items"], reason: "resync"))
        XCTAssertEqual(m.timestampMilliseconds, 9)
        let plan = try log.connection.query("EXPLAIN QUERY PLAN SELECT lsn, type, ts_ms FROM cdc_events WHERE type IN ('snapshot_start', 'snapshot_end') ORDER BY lsn DESC LIMIT 1")
            .map { $0.last?.stringValue ?? "" }.joined(separator: "; ")
        XCTAssertTrue(plan.contains("cdc_events_markers"), plan)
        XCTAssertEqual(try log.timestamp(ofEventAt: LSN(5)), 9)
        XCTAssertNil(try log.timestamp(ofEventAt: LSN(7)))
    }

    /// A log made before the marker index gets it when an agent claims it.
    func testClaimAddsTheMarkerIndexToAnOldLog() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        try log.connection.execute("DROP INDEX cdc_events_markers")
        try log.claim(for: EventLogTests.source)
        XCTAssertNotNil(try log.connection.scalar("SELECT 1 FROM sqlite_schema WHERE name = 'cdc_events_markers'"))
    }

    /// The log records the source's canonical path; status compares `--db` with it.
    func testSourceDatabasePath() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        XCTAssertNil(try log.sourceDatabasePath())
        try log.claim(for: SourceInfo(service: "orders (eu)", database: "x/../orders.db", mode: .wal))
        XCTAssertTrue(try log.sourceDatabasePath()?.hasSuffix("/orders.db") == true)
        XCTAssertEqual(try log.sourceDatabasePath(), EventLog.canonicalSourcePath("orders.db"))
    }
}
