import CDCCore
import CDCSQLite
import CDCSinks
import CDCTransport
import Foundation
import XCTest

/// Reading an embedded event log: sync, follow, and gaps left by retention.
final class SyncTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    private func makeLog(_ events: [Event]) throws -> EventLog {
        let log = try EventLog(path: folder.path("events.db"), create: true)
        try log.append(events)
        return log
    }

    func testSyncAppliesEverythingInBatchesAndThenNothing() throws {
        let events = (1...25).map { Fixture.insert(Int64($0), Fixture.items, Fixture.item(Int64($0), "row \($0)")) }
        let log = try makeLog(events)
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        XCTAssertEqual(try sink.sync(from: log, batchSize: 7), 25)
        XCTAssertEqual(try sink.appliedLSN, LSN(25))
        XCTAssertEqual(try sink.sync(from: log, batchSize: 7), 0)
        try log.append([Fixture.delete(26, Fixture.items, Fixture.item(1, "row 1"))])
        XCTAssertEqual(try sink.sync(from: log), 1)
        XCTAssertEqual(try ReplicaReader(path: path).rows("items").count, 24)
    }

    func testSyncStopsBetweenBatches() throws {
        let log = try makeLog((1...10).map { Fixture.insert(Int64($0), Fixture.items, Fixture.item(Int64($0), "r")) })
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        var checks = 0
        let n = try sink.sync(from: log, batchSize: 3) { checks += 1; return checks > 2 }
        XCTAssertEqual(n, 6)
        XCTAssertEqual(try sink.appliedLSN, LSN(6))
    }

    func testValidateRefusesAProjectionNamingAMissingColumn() throws {
        let log = try makeLog([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])
        let projection = Projection(tables: ["items": .init(source: "items", columns: [.init(source: "id"), .init(source: "nope")])])
        XCTAssertThrowsError(try SQLiteSink.validate(projection, against: log)) { error in
            XCTAssertEqual(error as? ProjectionError, .unknownColumn(table: "items", column: "nope"))
        }
        XCTAssertNoThrow(try SQLiteSink.validate(.identity, against: log))
    }

    func testPrunedOffsetFailsWithTheLogError() throws {
        let log = try makeLog((1...5).map { Fixture.insert(Int64($0), Fixture.items, Fixture.item(Int64($0), "r")) })
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        try sink.apply([Fixture.insert(1, Fixture.items, Fixture.item(1, "r"))])
        try log.prune(maximumAgeMilliseconds: 0, maximumBytes: nil, now: Int64.max / 2)
        XCTAssertThrowsError(try sink.sync(from: log)) { error in
            guard case EventLogError.offsetPruned(_, let requested, let through)? = error as? EventLogError else { return XCTFail("\(error)") }
            XCTAssertEqual(requested, LSN(1))
            XCTAssertEqual(through, LSN(5))
        }
    }

    /// With ``GapPolicy/requestSnapshot``, the sink asks for an epoch; an "agent" thread
    /// serves it; the sink continues from the epoch and its end removes the stale rows.
    func testGapIsClosedByARequestedSnapshot() throws {
        let items = Fixture.items
        let logPath = folder.path("events.db")
        let log = try makeLog([
            Fixture.insert(1, items, Fixture.item(1, "a")),
            Fixture.insert(2, items, Fixture.item(2, "b")),
        ])
        let path = folder.path("read.db")
        let sink = try SQLiteSink(replicaPath: path)
        XCTAssertEqual(try sink.sync(from: log), 2)
        // Missed while the sink was away: item 2 deleted, item 3 inserted; then pruned.
        try log.append([Fixture.delete(3, items, Fixture.item(2, "b")), Fixture.insert(4, items, Fixture.item(3, "c"))])
        try log.prune(maximumAgeMilliseconds: 0, maximumBytes: nil, now: Int64.max / 2)

        let agent = Thread {
            guard let agentLog = try? EventLog(path: logPath) else { return }
            for _ in 0..<2000 {
                if let request = try? agentLog.pendingSnapshotRequests().first {
                    try? agentLog.append([
                        Fixture.epochStart(5, tables: ["items"]),
                        Fixture.snapshot(6, items, Fixture.item(1, "a")),
                        Fixture.snapshot(7, items, Fixture.item(3, "c")),
                        Fixture.epochEnd(8, epoch: 5, tables: ["items"]),
                    ])
                    try? agentLog.markSnapshotRequestsServed([request.id], epoch: LSN(5))
                    return
                }
                usleep(1000)
            }
        }
        agent.start()
        let n = try sink.sync(from: log, gapPolicy: .requestSnapshot(requester: "test"), pollInterval: .milliseconds(2))
        XCTAssertEqual(n, 4)
        XCTAssertEqual(try sink.appliedLSN, LSN(8))
        XCTAssertEqual(try ReplicaReader(path: path).rows("items"), [Fixture.item(1, "a"), Fixture.item(3, "c")])
    }

    func testFollowAppliesEventsAsTheyArriveAndStops() throws {
        let logPath = folder.path("events.db")
        let log = try makeLog([Fixture.insert(1, Fixture.items, Fixture.item(1, "a"))])
        let sink = try SQLiteSink(replicaPath: folder.path("read.db"))
        let writer = Thread {
            guard let writerLog = try? EventLog(path: logPath) else { return }
            for i in 2...20 {
                usleep(3000)
                try? writerLog.append([Fixture.insert(Int64(i), Fixture.items, Fixture.item(Int64(i), "r"))])
            }
        }
        writer.start()
        let started = Date()
        try sink.follow(log, pollInterval: .milliseconds(2)) {
            ((try? sink.appliedLSN) ?? .zero) >= LSN(20) || Date().timeIntervalSince(started) > 20
        }
        XCTAssertEqual(try sink.appliedLSN, LSN(20))
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }
}
