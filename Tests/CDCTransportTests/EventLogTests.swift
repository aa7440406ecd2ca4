import CDCCore
import CDCSQLite
@testable import CDCTransport
import Foundation
import XCTest

/// The embedded event log: appends, reads, agent state, retention, and files that are not logs.
final class EventLogTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-log-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try FileManager.default.removeItem(at: folder) }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static let source = SourceInfo(service: "orders", database: "/srv/orders.db", mode: .triggers)
    static let table = TableSchema(name: "items", version: 1, columns: [
        ColumnSchema(name: "id", declaredType: "INTEGER", primaryKeyPosition: 1),
        ColumnSchema(name: "note", declaredType: ""),
    ])

    /// An insert of row `lsn` at time `ts`, carrying `payload` (for size-based retention).
    static func event(_ lsn: Int64, ts: Int64 = 1_000, payload: SQLiteValue = .string("x")) -> Event {
        let change = RowChange(transaction: TransactionInfo(id: lsn, index: 0, isLast: true), table: table, operation: .insert,
                               key: [.integer(lsn)], before: nil, after: [.integer(lsn), payload])
        return Event(lsn: LSN(lsn), source: source, timestampMilliseconds: ts, body: .change(change))
    }

    /// The append that ends a snapshot epoch marks the requests it serves in the same
    /// transaction: a failed append leaves them pending, a successful one served (before, a
    /// crash between the append and a separate mark made every restart serve them again).
    func testServedRequestsAreMarkedWithTheAppendOrNotAtAll() throws {
        let log = try EventLog(path: path("served.db"), create: true)
        let id = try log.requestSnapshot(requester: "sink", tables: [])
        try log.append([Self.event(1)])
        XCTAssertThrowsError(try log.append([Self.event(5)], servedRequests: ([id], LSN(2))), "an LSN gap fails the append")
        XCTAssertNil(try log.servedEpoch(ofRequest: id))
        XCTAssertEqual(try log.pendingSnapshotRequests().map(\.id), [id])
        try log.append([Self.event(2), Self.event(3)], state: ["k": .integer(3)], servedRequests: ([id], LSN(2)))
        XCTAssertEqual(try log.servedEpoch(ofRequest: id), LSN(2))
        XCTAssertTrue(try log.pendingSnapshotRequests().isEmpty)
    }

    /// A hole in the log (an event deleted by hand, a damaged file) is an error naming the
    /// missing LSN, never a silent skip.
    func testAMissingEventIsReportedNotSkipped() throws {
        let log = try EventLog(path: path("h.db"), create: true)
        try log.append((1...5).map { Self.event(Int64($0)) })
        let raw = try Connection(path: path("h.db"))
        try raw.execute("DELETE FROM cdc_events WHERE lsn = 3")
        XCTAssertThrowsError(try log.read(after: .zero, limit: 100)) { error in
            guard case EventLogError.corruptEvent(_, let lsn, _)? = error as? EventLogError else { return XCTFail("\(error)") }
            XCTAssertEqual(lsn, LSN(3))
        }
        XCTAssertEqual(try log.read(after: LSN(3), limit: 100).map(\.lsn), [LSN(4), LSN(5)])
    }

    func testAppendAndReadInLSNOrder() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        XCTAssertEqual(try log.lastLSN(), .zero)
        let events = [Self.event(1), Self.event(2, payload: .blob([0, 1])), Self.event(3, payload: .real(-0.0))]
        try log.append(events)
        let heartbeat = Event(lsn: LSN(4), source: Self.source, timestampMilliseconds: 2_000, body: .heartbeat)
        try log.append([heartbeat])
        XCTAssertEqual(try log.lastLSN(), LSN(4))
        XCTAssertEqual(try log.read(after: .zero, limit: 100), events + [heartbeat])
        XCTAssertEqual(try log.read(after: LSN(1), limit: 1), [events[1]])
        XCTAssertEqual(try log.read(after: LSN(2), limit: 100).map(\.lsn), [LSN(3), LSN(4)])
        XCTAssertEqual(try log.read(after: LSN(4), limit: 100), [])
        XCTAssertThrowsError(try log.append([Self.event(6)]), "LSNs continue one by one")
        XCTAssertEqual(try log.latestSchemas(), ["items": Self.table])
    }

    func testNonIncreasingLSNIsRejectedAndTheBatchAndStateAreNotStored() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        try log.append([Self.event(1), Self.event(2)], state: ["seq": .integer(2)])
        XCTAssertThrowsError(try log.append([Self.event(3), Self.event(2)], state: ["seq": .integer(9)])) { error in
            XCTAssertEqual(error as? EventLogError, .nonIncreasingLSN(path: self.path("e.db"), last: LSN(3), offending: LSN(2)))
        }
        XCTAssertThrowsError(try log.append([Self.event(2)]))
        XCTAssertEqual(try log.lastLSN(), LSN(2), "the event before the bad one was rolled back too")
        XCTAssertEqual(try log.agentState(), ["seq": .integer(2)], "the state is stored with its events or not at all")
        try log.append([Self.event(3)], state: ["seq": .integer(3)])
        XCTAssertEqual(try log.agentState(), ["seq": .integer(3)])
    }

    /// The log writes only state keys whose value changed since its last committed append;
    /// a value written by an append that rolled back must be written again.
    func testStateWrittenByARolledBackAppendIsWrittenAgain() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        try log.append([Self.event(1)], state: ["a": .integer(1), "b": .string("same")])
        XCTAssertThrowsError(try log.append([Self.event(2), Self.event(2)], state: ["a": .integer(2), "b": .string("same")]))
        try log.append([Self.event(2)], state: ["a": .integer(2), "b": .string("same")])
        XCTAssertThrowsError(try log.append([Self.event(3), Self.event(3)], state: ["a": .integer(3)]))
        try log.saveState(["a": .integer(3)])
        try log.saveState(["a": .integer(3), "c": .null])
        let reader = try EventLog(path: path("e.db"), readOnly: true)
        XCTAssertEqual(try reader.agentState(), ["a": .integer(3), "b": .string("same"), "c": .null])
    }

    func testStateSurvivesReopen() throws {
        do {
            let log = try EventLog(path: path("e.db"), create: true)
            try log.append([Self.event(1)], state: ["seq": .integer(10), "epoch": .string("x")])
            try log.close()
        }
        let log = try EventLog(path: path("e.db"), readOnly: true)
        XCTAssertEqual(try log.agentState(), ["seq": .integer(10), "epoch": .string("x")])
        XCTAssertEqual(try log.read(after: .zero, limit: 10).count, 1)
    }

    func testRetentionByAgeAndPrunedOffset() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        try log.append((1...10).map { Self.event($0, ts: $0 * 1_000) })
        // Keep events newer than 4.5 s before "now" = 10 s: LSN 6...10 stay.
        XCTAssertEqual(try log.prune(maximumAgeMilliseconds: 4_500, maximumBytes: nil, now: 10_000), 5)
        XCTAssertEqual(try log.prunedThrough(), LSN(5))
        XCTAssertEqual(try log.read(after: LSN(5), limit: 100).map(\.lsn.rawValue), [6, 7, 8, 9, 10])
        XCTAssertThrowsError(try log.read(after: LSN(4), limit: 100)) { error in
            XCTAssertEqual(error as? EventLogError, .offsetPruned(path: self.path("e.db"), requested: LSN(4), prunedThrough: LSN(5)))
            XCTAssertTrue("\(error)".contains("--resnapshot-on-gap"))
        }
        // Pruning never moves back, and the log's last LSN survives pruning everything.
        XCTAssertEqual(try log.prune(maximumAgeMilliseconds: 0, maximumBytes: nil, now: 100_000), 5)
        XCTAssertEqual(try log.lastLSN(), LSN(10))
        XCTAssertThrowsError(try log.append([Self.event(10)]))
        XCTAssertEqual(try log.prune(maximumAgeMilliseconds: 100_000_000, maximumBytes: nil, now: 100_000), 0)
        XCTAssertEqual(try log.prunedThrough(), LSN(10))
    }

    func testRetentionBySize() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        let payload = SQLiteValue.string(String(repeating: "p", count: 1_000))
        try log.append((1...10).map { Self.event($0, payload: payload) })
        let size = Int64(Self.event(1, payload: payload).jsonLine().count)
        // Room for three and a half events: the newest three stay.
        XCTAssertEqual(try log.prune(maximumAgeMilliseconds: nil, maximumBytes: size * 7 / 2, now: 0), 7)
        XCTAssertEqual(try log.read(after: LSN(7), limit: 100).map(\.lsn.rawValue), [8, 9, 10])
        XCTAssertEqual(try log.prune(maximumAgeMilliseconds: nil, maximumBytes: size * 3 + 100, now: 0), 0, "the three newest fit (LSN 10 is a few bytes longer than LSN 1)")
        XCTAssertEqual(try log.prune(maximumAgeMilliseconds: nil, maximumBytes: size * 2 + 100, now: 0), 1)
    }

    func testCorruptRowIsDetectedAndNamesItsLSN() throws {
        let logPath = path("e.db")
        let log = try EventLog(path: logPath, create: true)
        try log.append([Self.event(1)])
        let raw = try Connection(path: logPath)
        try raw.execute("INSERT INTO cdc_events(lsn, ts_ms, type, tbl, event) VALUES (2, 0, 'change', 'items', '{\"v\":1')")
        try raw.execute("INSERT INTO cdc_events(lsn, ts_ms, type, tbl, event) VALUES (3, 0, 'change', 'items', ?)", [.text(Self.event(4).jsonLine())])
        try raw.close()
        XCTAssertEqual(try log.read(after: .zero, limit: 1).map(\.lsn), [LSN(1)])
        XCTAssertThrowsError(try log.read(after: .zero, limit: 10)) { error in
            guard case EventLogError.corruptEvent(_, let lsn, _)? = error as? EventLogError else { return XCTFail("\(error)") }
            XCTAssertEqual(lsn, LSN(2))
        }
        XCTAssertThrowsError(try log.read(after: LSN(2), limit: 10)) { error in
            guard case EventLogError.corruptEvent(_, let lsn, let reason)? = error as? EventLogError else { return XCTFail("\(error)") }
            XCTAssertEqual(lsn, LSN(3))
            XCTAssertTrue(reason.contains("LSN 4"), reason)
        }
    }

    func testFilesThatAreNotLogsFailClearly() throws {
        let other = path("app.db")
        let c = try Connection(path: other, mode: .create)
        try c.execute("CREATE TABLE customers(id INTEGER PRIMARY KEY)")
        try c.close()
        for create in [false, true] {
            XCTAssertThrowsError(try EventLog(path: other, create: create)) { error in
                guard case EventLogError.notAnEventLog(_, let reason)? = error as? EventLogError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("customers"), reason)
            }
        }
        let text = path("notes.txt")
        try Data(String(repeating: "hello, not a database\n", count: 200).utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try EventLog(path: text)) { error in
            XCTAssertEqual((error as? SQLiteError)?.code.primary, .notADatabase, "\(error)")
            XCTAssertTrue("\(error)".contains("notes.txt"))
        }
        XCTAssertThrowsError(try EventLog(path: path("missing.db"))) { error in
            XCTAssertTrue("\(error)".contains("missing.db"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("missing.db")))
        let empty = path("empty.db")
        try Connection(path: empty, mode: .create).close()
        XCTAssertThrowsError(try EventLog(path: empty)) { error in
            XCTAssertTrue("\(error)".contains("not a cdc event log"), "\(error)")
        }
    }

    func testSnapshotRequestsAreServedOnce() throws {
        let log = try EventLog(path: path("e.db"), create: true)
        let id = try log.requestSnapshot(requester: "sink", tables: ["items", "orders"])
        XCTAssertNil(try log.servedEpoch(ofRequest: id))
        XCTAssertEqual(try log.pendingSnapshotRequests().map(\.tables), [["items", "orders"]])
        try log.markSnapshotRequestsServed([id], epoch: LSN(42))
        XCTAssertEqual(try log.servedEpoch(ofRequest: id), LSN(42))
        XCTAssertTrue(try log.pendingSnapshotRequests().isEmpty)
    }

    func testChangeCounterMovesWhenAnotherConnectionCommits() throws {
        let reader = try EventLog(path: path("e.db"), create: true)
        let before = try reader.changeCounter()
        let writer = try EventLog(path: path("e.db"))
        try writer.append([Self.event(1)])
        XCTAssertNotEqual(try reader.changeCounter(), before)
    }

    /// Format 2 stores each schema object once: the stored line references it, and readers
    /// get back exactly the line the encoder made.
    func testSchemasAreStoredOnceAndReadBackWhole() throws {
        let log = try EventLog(path: path("events.db"), create: true)
        let events = (1...5).map { Self.event(Int64($0)) }
        try log.append(events)
        let raw = try Connection(path: path("events.db"), mode: .readOnly)
        XCTAssertEqual(try raw.scalar("SELECT count(*) FROM cdc_schemas"), .integer(1))
        let stored = try raw.query("SELECT event FROM cdc_events").compactMap { $0[0].stringValue }
        XCTAssertTrue(stored.allSatisfy { $0.contains("\"schema\":{\"$ref\":1}") && !$0.contains("\"columns\"") }, "\(stored)")
        XCTAssertEqual(try log.readRaw(after: .zero, limit: 10).map(\.1), events.map { $0.jsonLine() })
        XCTAssertEqual(try log.read(after: .zero, limit: 10), events)
        // A reader on its own connection expands them too.
        let reader = try EventLog(path: path("events.db"), readOnly: true)
        XCTAssertEqual(try reader.read(after: .zero, limit: 10), events)
    }

    /// Batches longer than one multi-row insert, mixing tables, markers and schema events,
    /// are stored one row an event with the right columns, and read back as appended; a bad
    /// LSN in the middle of a multi-row insert leaves nothing behind.
    func testLongMixedBatchesAreStoredEventByEvent() throws {
        let log = try EventLog(path: path("events.db"), create: true)
        let other = TableSchema(name: "other \"t\"", version: 2, columns: [ColumnSchema(name: "k", declaredType: "TEXT", primaryKeyPosition: 1)])
        var events: [Event] = []
        for lsn in Int64(1)...Int64(2 * EventLog.rowsPerInsert + 7) {
            let body: Event.Body
            switch lsn % 9 {
            case 0: body = .heartbeat
            case 4: body = .snapshotStart(SnapshotEpoch(epoch: LSN(lsn), tables: ["items"], reason: "initial"))
            case 6: body = .schema(SchemaChange(table: other.name, kind: .create, schema: other))
            case 7, 8:
                body = .change(RowChange(transaction: TransactionInfo(id: lsn, index: 0, isLast: true), table: other, operation: .delete,
                                         key: [.string("k\(lsn)")], before: [.string("k\(lsn)")], after: nil))
            default: body = Self.event(lsn).body
            }
            events.append(Event(lsn: LSN(lsn), source: Self.source, timestampMilliseconds: 1_000 + lsn, body: body))
        }
        try log.append(events, state: ["seq": .integer(1)])
        XCTAssertEqual(try log.read(after: .zero, limit: 1_000), events)
        XCTAssertEqual(try log.readRaw(after: .zero, limit: 1_000).map(\.1), events.map { $0.jsonLine() })
        let raw = try Connection(path: path("events.db"), mode: .readOnly)
        let rows = try raw.query("SELECT lsn, ts_ms, type, tbl FROM cdc_events ORDER BY lsn")
        XCTAssertEqual(rows.count, events.count)
        for (row, e) in zip(rows, events) {
            XCTAssertEqual(row, [.integer(e.lsn.rawValue), .integer(e.timestampMilliseconds), .string(e.typeName), e.tableName.map { .string($0) } ?? .null])
        }
        XCTAssertEqual(try raw.scalar("SELECT count(*) FROM cdc_schemas"), .integer(2))

        let next = Int64(events.count)
        var bad = (next + 1...next + Int64(2 * EventLog.rowsPerInsert)).map { Self.event($0) }
        bad[EventLog.rowsPerInsert + 3] = Self.event(next + 100)
        XCTAssertThrowsError(try log.append(bad, state: ["seq": .integer(2)]))
        XCTAssertEqual(try log.lastLSN(), LSN(next))
        XCTAssertEqual(try log.agentState(), ["seq": .integer(1)])
    }

    /// A damaged reference is a corrupt event naming its LSN, not a crash or a wrong line.
    func testADamagedSchemaReferenceIsACorruptEvent() throws {
        let log = try EventLog(path: path("events.db"), create: true)
        try log.append([Self.event(1), Self.event(2)])
        let raw = try Connection(path: path("events.db"), mode: .readWrite)
        try raw.execute("UPDATE cdc_events SET event = replace(event, '{\"$ref\":1}', '{\"$ref\":9}') WHERE lsn = 2")
        XCTAssertThrowsError(try EventLog(path: path("events.db"), readOnly: true).read(after: .zero, limit: 10)) { error in
            guard case EventLogError.corruptEvent(_, let lsn, let reason)? = error as? EventLogError else { return XCTFail("\(error)") }
            XCTAssertEqual(lsn, LSN(2))
            XCTAssertTrue(reason.contains("9"), reason)
        }
        try raw.execute("UPDATE cdc_events SET schema_at = schema_at + 3 WHERE lsn = 1")
        XCTAssertThrowsError(try EventLog(path: path("events.db"), readOnly: true).read(after: .zero, limit: 1))
    }

    /// A log written in format 1 (whole lines) is still read and appended to as it is.
    func testAFormatOneLogStillWorks() throws {
        let p = path("old.db")
        let c = try Connection(path: p, mode: .create)
        try c.execute("""
            CREATE TABLE cdc_log_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
            CREATE TABLE cdc_events(lsn INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, type TEXT NOT NULL, tbl TEXT, event TEXT NOT NULL);
            CREATE TABLE cdc_agent_state(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
            CREATE TABLE cdc_snapshot_requests(id INTEGER PRIMARY KEY, requested_ms INTEGER NOT NULL, requester TEXT NOT NULL, tables TEXT NOT NULL, served_epoch INTEGER);
            INSERT INTO cdc_log_meta VALUES ('format', 1), ('pruned_through', 0), ('created_ms', 0), ('log_id', 'old');
            """)
        try c.execute("INSERT INTO cdc_events(lsn, ts_ms, type, tbl, event) VALUES (1, 0, 'change', 'items', ?)", [.text(Self.event(1).jsonLine())])
        try c.close()
        let log = try EventLog(path: p, create: true)
        try log.append([Self.event(2)])
        XCTAssertEqual(try log.read(after: .zero, limit: 10), [Self.event(1), Self.event(2)])
        // Longer than one multi-row insert.
        let more = (3...40).map { Self.event(Int64($0)) }
        try log.append(more)
        XCTAssertEqual(try log.read(after: LSN(2), limit: 100), more)
        XCTAssertFalse(try Connection(path: p, mode: .readOnly).tableExists("cdc_schemas"), "format 1 stays format 1")
    }
}
