import CDCCapture
import CDCCore
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// Runs every case of fixtures/triggers (whose expected events scripts/make-trigger-fixtures.py
/// wrote from the spec with Python's sqlite3) through WAL capture instead of the triggers.
///
/// The two modes see a transaction differently: the triggers record every statement's row
/// change in statement order; WAL capture sees the transaction's net effect, ordered by table
/// and key (docs/wal-capture.md). So the comparison is by effect: the snapshot epochs hold
/// the same rows, and each WAL transaction group changes the rows exactly as the expected
/// group of that transaction does (same keys, same before and after images), in the same
/// order of transactions. A transaction whose statements cancel out (insert then delete)
/// has a group in the change-table mode and none in WAL mode.
final class WALFixtureEquivalenceTests: XCTestCase {
    typealias State = [String: [[SQLiteValue]: [SQLiteValue]]]

    func testEveryChangeTableFixtureGivesTheSameEffectsFromTheWAL() throws {
        let cases = try FileManager.default.contentsOfDirectory(atPath: TriggerFixtureTests.fixtures.path).sorted()
        XCTAssertGreaterThanOrEqual(cases.count, 9)
        for name in cases { try runCase(name) }
    }

    func runCase(_ name: String) throws {
        let folder = TriggerFixtureTests.fixtures.appendingPathComponent(name)
        let schemaSQL = try String(contentsOf: folder.appendingPathComponent("schema.sql"), encoding: .utf8)
        let workload = try String(contentsOf: folder.appendingPathComponent("workload.sql"), encoding: .utf8)
        let expected = try String(contentsOf: folder.appendingPathComponent("expected.jsonl"), encoding: .utf8)
            .split(separator: "\n").enumerated().map { try Event(jsonLine: Array($1.utf8), lineNumber: $0 + 1) }
        let tmp = try TemporaryFolder()
        let dbPath = tmp.path("fixture.db")
        let writer = try makeDatabase(at: dbPath, sql: schemaSQL)
        try writer.execute("PRAGMA wal_autocheckpoint=0")
        let log = try EventLog(path: tmp.path("events.db"), create: true)
        let capture = try WALCapture(sourcePath: dbPath, log: log, service: "fixture", logger: .silent)
        try capture.captureAvailable()
        for block in workload.components(separatedBy: "\n-- txn\n") {
            try writer.execute(block)
            try capture.captureAvailable()
        }
        let actual = try readAll(log)
        XCTAssertTrue(actual.allSatisfy { $0.source.mode == .wal }, name)

        let (expectedEpoch, expectedGroups) = Self.split(expected)
        let (actualEpoch, actualGroups) = Self.split(actual)
        XCTAssertEqual(Self.rows(of: actualEpoch), Self.rows(of: expectedEpoch), "\(name): snapshot epoch rows")
        var state = State()
        Self.replay(expectedEpoch, onto: &state)
        var remaining = actualGroups[...]
        for group in expectedGroups {
            let before = state
            let effect = Self.effect(of: group, from: before)
            Self.replay(group, onto: &state)
            if effect.isEmpty { continue }
            guard let next = remaining.first else { return XCTFail("\(name): WAL capture is missing the group of expected txn \(group[0].change?.transaction.id ?? 0)") }
            remaining = remaining.dropFirst()
            XCTAssertEqual(Self.effect(of: next, from: before), effect, "\(name): txn \(group[0].change?.transaction.id ?? 0)")
            XCTAssertTrue(next.last?.change?.transaction.isLast == true, "\(name): the group's last event says so")
        }
        XCTAssertTrue(remaining.isEmpty, "\(name): WAL capture emitted \(remaining.count) group(s) more than the source's transactions")
        try capture.close()
        try log.close()
        try writer.close()
    }

    /// The snapshot epoch's events and the change groups after it (by transaction id).
    static func split(_ events: [Event]) -> (epoch: [Event], groups: [[Event]]) {
        var epoch: [Event] = []
        var groups: [[Event]] = []
        var inEpoch = false
        for e in events {
            switch e.body {
            case .snapshotStart: inEpoch = true
            case .snapshotEnd: inEpoch = false
            case .change(let c):
                if inEpoch { epoch.append(e) }
                else if let last = groups.last?.last?.change, last.transaction.id == c.transaction.id { groups[groups.count - 1].append(e) }
                else { groups.append([e]) }
            case .heartbeat: break
            }
        }
        return (epoch, groups)
    }

    static func rows(of epoch: [Event]) -> [String] {
        epoch.compactMap { $0.change }.map { "\($0.table.name) \($0.key) \($0.after ?? [])" }.sorted()
    }

    /// Applies events as a sink does: an update whose after image holds another key moves the row.
    static func replay(_ events: [Event], onto state: inout State) {
        for e in events {
            guard let c = e.change else { continue }
            let keyIndices = c.table.keyColumnIndices
            switch c.operation {
            case .delete:
                state[c.table.name, default: [:]][c.key] = nil
            case .insert, .update, .snapshot:
                guard let after = c.after else { continue }
                let newKey = keyIndices.isEmpty ? c.key : keyIndices.map { after[$0] }
                if c.operation == .update, newKey != c.key { state[c.table.name, default: [:]][c.key] = nil }
                state[c.table.name, default: [:]][newKey] = after
            }
        }
    }

    /// What a group changes: for each touched row, its image before and after (nil = absent),
    /// leaving out rows it leaves as they were.
    static func effect(of group: [Event], from state: State) -> [String: [[SQLiteValue]: Pair]] {
        var after = state
        replay(group, onto: &after)
        var out: [String: [[SQLiteValue]: Pair]] = [:]
        for table in Set(state.keys).union(after.keys) {
            let b = state[table] ?? [:], a = after[table] ?? [:]
            for key in Set(b.keys).union(a.keys) where b[key] != a[key] {
                out[table, default: [:]][key] = Pair(before: b[key], after: a[key])
            }
        }
        return out
    }

    struct Pair: Equatable {
        var before: [SQLiteValue]?
        var after: [SQLiteValue]?
    }
}
