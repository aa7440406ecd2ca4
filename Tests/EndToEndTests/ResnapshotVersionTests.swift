@testable import CDCCapture
import CDCCore
import CDCSinks
import CDCSQLite
import CDCTestSupport
import CDCTransport
import Foundation
import XCTest

/// Issue 4, point 5: a snapshot row served on request never overwrites a newer streamed
/// change. A writer commits an update of a row right after the row was read for a request,
/// before its snapshot event is appended; the update must get the higher row version, and a
/// sink must end with it, also when the snapshot row is delivered again after it.
final class ResnapshotVersionTests: XCTestCase {
    func testAnUpdateCommittedWhileItsChunkIsReadWinsInChangeTableMode() throws {
        try checkNewerChangeWins(mode: .triggers)
    }

    func testAnUpdateCommittedWhileARequestIsReadWinsInWALMode() throws {
        try checkNewerChangeWins(mode: .wal)
    }

    func testAKeyedRequestSendsOnlyExistingKeysAndDeletesNothing() throws {
        for mode in [CaptureMode.triggers, .wal] {
            let dir = try TemporaryDirectory(prefix: "resnapshot-keys")
            let db = dir.path("svc.db"), logPath = dir.path("events.db")
            let writer = try makeSource(db, mode: mode)
            let log = try EventLog(path: logPath, create: true)
            let capture = try makeCapture(mode, db, log)
            _ = try capture.captureAvailable()
            let sink = try SQLiteSink(replicaPath: dir.path("read.db"))
            _ = try sink.sync(from: log)
            // Key 7 exists; key 99 never did; key 3 is deleted before the request is served.
            // Through another connection, as `cdc-agent resnapshot` does (the WAL agent wakes
            // on the log's data_version, which its own commits do not change).
            let id = try EventLog(path: logPath).requestSnapshot(requester: "test", tables: ["items"], keys: [[.integer(7)], [.integer(99)], [.integer(3)]])
            try writer.execute("DELETE FROM items WHERE id = 3")
            _ = try capture.captureAvailable()
            _ = try capture.captureAvailable()
            let servedAt = try XCTUnwrap(try log.servedEpoch(ofRequest: id), "\(mode)")
            let after = try readAll(log).filter { $0.lsn > servedAt }
            let snapshotKeys = after.compactMap { e -> [SQLiteValue]? in
                guard case .change(let c) = e.body, c.operation == .snapshot else { return nil }
                return c.key
            }
            XCTAssertEqual(snapshotKeys, [[.integer(7)]], "\(mode): only the existing key is sent")
            XCTAssertFalse(after.contains { if case .snapshotEnd = $0.body { return true } else { return false } }, "\(mode): no epoch marker")
            _ = try sink.sync(from: log)
            let read = try Connection(path: dir.path("read.db"), mode: .readOnly)
            XCTAssertEqual(try read.scalar("SELECT count(*) FROM items"), .integer(19), "\(mode): nothing else deleted")
            XCTAssertNil(try read.scalar("SELECT 1 FROM items WHERE id = 3"), "\(mode): the streamed delete stands")
            try capture.close()
        }
    }

    // MARK: - Helpers

    private func checkNewerChangeWins(mode: CaptureMode) throws {
        let dir = try TemporaryDirectory(prefix: "resnapshot-version")
        let db = dir.path("svc.db"), logPath = dir.path("events.db")
        let writer = try makeSource(db, mode: mode)
        let log = try EventLog(path: logPath, create: true)
        let capture = try makeCapture(mode, db, log, batchSize: 4)
        _ = try capture.captureAvailable()

        // Row 2 is in the first chunk (4 rows); the writer updates it after the chunk was read.
        var fired = false
        capture.setRequestReadHook {
            guard !fired else { return }
            fired = true
            try writer.execute("UPDATE items SET body = 'newer' WHERE id = 2")
        }
        let id = try EventLog(path: logPath).requestSnapshot(requester: "test", tables: ["items"])
        // Chunk after chunk, with the stream in between, until the epoch ends.
        for _ in 0..<50 where try log.servedEpoch(ofRequest: id) == nil { _ = try capture.captureAvailable() }
        capture.setRequestReadHook(nil)
        _ = try capture.captureAvailable()
        XCTAssertTrue(fired)
        let epoch = try XCTUnwrap(try log.servedEpoch(ofRequest: id))

        let events = try readAll(log)
        let snapshotRow = try XCTUnwrap(events.last { e in
            if case .change(let c) = e.body { return c.operation == .snapshot && c.key == [.integer(2)] } else { return false }
        })
        let update = try XCTUnwrap(events.last { e in
            if case .change(let c) = e.body { return c.operation == .update && c.key == [.integer(2)] } else { return false }
        })
        XCTAssertEqual(snapshotRow.change?.after?[1], .string("old 2"), "the row as read at the capture position")
        XCTAssertGreaterThan(update.lsn, snapshotRow.lsn, "the update committed after the read has the higher row version")
        XCTAssertTrue(events.allSatisfy { $0.timestampMilliseconds > 0 }, "every event has its time (retention goes by it)")
        // Read in chunks of 4 rows: the streamed update sits between the epoch's markers.
        let end = try XCTUnwrap(events.first { e in if case .snapshotEnd(let m) = e.body { return m.epoch == epoch } else { return false } })
        XCTAssertTrue((epoch..<end.lsn).contains(update.lsn), "the update was streamed while the epoch was read")
        XCTAssertEqual(events.filter { $0.lsn > epoch && $0.lsn < end.lsn && $0.change?.operation == .snapshot }.count, 20)

        // In order, and with the snapshot row delivered again after the update: the update stays.
        let sink = try SQLiteSink(replicaPath: dir.path("read.db"))
        _ = try sink.sync(from: log)
        _ = try sink.apply([snapshotRow])
        let read = try Connection(path: dir.path("read.db"), mode: .readOnly)
        XCTAssertEqual(try read.scalar("SELECT body FROM items WHERE id = 2"), .string("newer"))
        XCTAssertEqual(try read.scalar("SELECT count(*) FROM items"), .integer(20))
        try capture.close()
    }

    private func makeSource(_ db: String, mode: CaptureMode) throws -> Connection {
        let c = try Connection(path: db, mode: .create)
        try c.execute("PRAGMA journal_mode=WAL")
        try c.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        try c.transaction {
            for i in 1...20 { try c.execute("INSERT INTO items VALUES (?, ?)", [.integer(Int64(i)), .string("old \(i)")]) }
        }
        if mode == .triggers {
            let installed = try runProgram(Products.executable("cdc-agent"), ["install", "--db", db])
            XCTAssertEqual(installed.status, 0, installed.standardError)
        }
        try c.setBusyTimeout(milliseconds: 5000)
        return c
    }

    private func makeCapture(_ mode: CaptureMode, _ db: String, _ log: EventLog, batchSize: Int = 5000) throws -> RequestServingCapture {
        switch mode {
        case .triggers: return .triggers(try ChangeTableCapture(sourcePath: db, log: log, service: "svc", logger: .silent, batchSize: batchSize))
        case .wal:
            var options = WALCapture.Options()
            options.batchSize = batchSize
            return .wal(try WALCapture(sourcePath: db, log: log, service: "svc", logger: .silent, options: options))
        }
    }
}

/// Either capture, driven the same way by the tests.
enum RequestServingCapture {
    case triggers(ChangeTableCapture)
    case wal(WALCapture)

    func captureAvailable() throws -> Int {
        switch self {
        case .triggers(let c): return try c.captureAvailable(until: { false })
        case .wal(let c): return try c.captureAvailable(until: { false })
        }
    }

    func setRequestReadHook(_ hook: (() throws -> Void)?) {
        switch self {
        case .triggers(let c): c.requestReadHook = hook
        case .wal(let c): c.requestReadHook = hook
        }
    }

    func close() throws {
        switch self {
        case .triggers(let c): try c.close()
        case .wal(let c): try c.close()
        }
    }
}

/// Every event of a log, in LSN order.
private func readAll(_ log: EventLog) throws -> [Event] {
    var out: [Event] = []
    var offset = LSN.zero
    while true {
        let batch = try log.read(after: offset, limit: 1000)
        guard let last = batch.last else { return out }
        out += batch
        offset = last.lsn
    }
}
