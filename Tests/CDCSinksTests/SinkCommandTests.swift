import CDCCore
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// Runs the built `cdc-sink` binary: exit codes, one-line errors, nothing half-written.
final class SinkCommandTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    /// The built binary, next to the test bundle (`…/debug/x.xctest` on macOS; on Linux the
    /// bundle URL is the products folder itself).
    private var binary: URL {
        let bundle = Bundle(for: Self.self).bundleURL
        let products = bundle.pathExtension == "xctest" ? bundle.deletingLastPathComponent() : bundle
        return products.appendingPathComponent("cdc-sink")
    }

    private struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    private func run(_ arguments: [String], stopAfter seconds: Double? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        // Progress lines are info; errors must stand alone on standard error.
        process.environment = ProcessInfo.processInfo.environment.merging(["CDC_LOG_LEVEL": "warning"]) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let seconds {
            Thread.sleep(forTimeInterval: seconds)
            process.terminate()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, standardOutput: String(decoding: o, as: UTF8.self), standardError: String(decoding: e, as: UTF8.self))
    }

    private func makeLog(_ events: [Event]) throws -> String {
        let path = folder.path("events.db")
        let log = try EventLog(path: path, create: true)
        try log.append(events)
        try log.close()
        return path
    }

    private func assertBadInput(_ outcome: Outcome, mentions text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outcome.status, 2, outcome.standardError, file: file, line: line)
        let lines = outcome.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, outcome.standardError, file: file, line: line)
        XCTAssertTrue(outcome.standardError.contains(text), "expected \(text) in: \(outcome.standardError)", file: file, line: line)
    }

    static let events = [
        Fixture.insert(1, Fixture.items, Fixture.item(1, "a")),
        Fixture.insert(2, Fixture.items, Fixture.item(2, "b")),
        Fixture.delete(3, Fixture.items, Fixture.item(1, "a")),
    ]

    func testHelpPrintsUsageWithAnExample() throws {
        let outcome = try run(["--help"])
        XCTAssertEqual(outcome.status, 0)
        XCTAssertTrue(outcome.standardOutput.contains("usage: cdc-sink --log"))
        XCTAssertTrue(outcome.standardOutput.contains("example:"))
    }

    func testAppliesTheLogAndExits() throws {
        let log = try makeLog(Self.events)
        let replica = folder.path("read.db")
        let outcome = try run(["--log", log, "--replica", replica])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let reader = try ReplicaReader(path: replica)
        XCTAssertEqual(try reader.rows("items"), [Fixture.item(2, "b")])
        XCTAssertEqual(try reader.count("SELECT lsn FROM _cdc_sink_offset"), 3)
        // Running again applies nothing new and changes nothing.
        XCTAssertEqual(try run(["--log", log, "--replica", replica]).status, 0)
        XCTAssertEqual(try reader.rows("items"), [Fixture.item(2, "b")])
    }

    func testMissingArgumentsAndMissingLog() throws {
        assertBadInput(try run(["--replica", folder.path("r.db")]), mentions: "--log")
        assertBadInput(try run(["--log", folder.path("nope.db"), "--replica", folder.path("r.db")]), mentions: "nope.db")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path("r.db")))
        assertBadInput(try run(["--log", folder.path("nope.db"), "--replica", folder.path("r.db"), "--bogus"]), mentions: "--bogus")
    }

    func testFilesThatAreNotEventLogs() throws {
        let text = folder.path("notes.txt")
        try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: text))
        assertBadInput(try run(["--log", text, "--replica", folder.path("r.db")]), mentions: "notes.txt")
        let other = folder.path("other.db")
        let c = try Connection(path: other, mode: .create)
        try c.execute("CREATE TABLE customers(id INTEGER PRIMARY KEY)")
        try c.close()
        assertBadInput(try run(["--log", other, "--replica", folder.path("r.db")]), mentions: "not a cdc event log")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path("r.db")))
    }

    func testMalformedProjectionsWriteNothing() throws {
        let log = try makeLog(Self.events)
        let replica = folder.path("r.db")
        let cases: [(String, String)] = [
            ("{ not json", "malformed projection"),
            (#"{"tables": {"items": {"colums": ["id"]}}}"#, "unknown field"),
            (#"{"tables": {"items": {"columns": ["id", "colour"]}}}"#, "colour"),
        ]
        for (i, (json, message)) in cases.enumerated() {
            let file = folder.path("p\(i).json")
            try Data(json.utf8).write(to: URL(fileURLWithPath: file))
            assertBadInput(try run(["--log", log, "--replica", replica, "--projection", file]), mentions: message)
            XCTAssertFalse(FileManager.default.fileExists(atPath: replica), json)
        }
    }

    func testCorruptEventRowNamesItsLSN() throws {
        let log = try makeLog(Self.events)
        let raw = try Connection(path: log)
        try raw.execute("INSERT INTO cdc_events(lsn, ts_ms, type, tbl, event) VALUES (4, 0, 'change', 'items', '{\"v\":1,\"lsn\":4')")
        try raw.close()
        let writer = try EventLog(path: log)
        try writer.append([Fixture.insert(5, Fixture.items, Fixture.item(5, "e"))])
        try writer.close()
        let replica = folder.path("r.db")
        assertBadInput(try run(["--log", log, "--replica", replica, "--batch-size", "2"]), mentions: "LSN 4")
        // Batches before the corrupt one were applied whole; the offset says where it stopped.
        XCTAssertEqual(try ReplicaReader(path: replica).count("SELECT lsn FROM _cdc_sink_offset"), 2)
    }

    func testCorruptNewestEventIsFoundBeforeTheReplicaIsCreated() throws {
        let log = try makeLog(Self.events)
        let raw = try Connection(path: log)
        try raw.execute("INSERT INTO cdc_events(lsn, ts_ms, type, tbl, event) VALUES (4, 0, 'change', 'items', 'garbage')")
        try raw.close()
        let replica = folder.path("r.db")
        assertBadInput(try run(["--log", log, "--replica", replica]), mentions: "LSN 4")
        XCTAssertFalse(FileManager.default.fileExists(atPath: replica))
    }

    func testReplicaInAMissingFolder() throws {
        let log = try makeLog(Self.events)
        assertBadInput(try run(["--log", log, "--replica", folder.path("no/such/folder/r.db")]), mentions: "does not exist")
    }

    func testPrunedOffsetExits2WithoutResnapshot() throws {
        let path = try makeLog(Self.events)
        let log = try EventLog(path: path)
        try log.prune(maximumAgeMilliseconds: 0, maximumBytes: nil, now: Int64.max / 2)
        try log.close()
        assertBadInput(try run(["--log", path, "--replica", folder.path("r.db")]), mentions: "removed by retention")
    }

    func testFollowExitsCleanlyOnSIGTERM() throws {
        let log = try makeLog(Self.events)
        let replica = folder.path("r.db")
        let outcome = try run(["--log", log, "--replica", replica, "--follow"], stopAfter: 1.0)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(try ReplicaReader(path: replica).rows("items"), [Fixture.item(2, "b")])
    }

    /// A projection that a source schema change made outdated is bad input: exit 2, one line
    /// naming the table, the change, the LSN and the edit; the events before the change are
    /// applied, so the run with the edited projection continues at the change.
    func testProjectionOutdatedByARenameExits2AndContinuesOnceEdited() throws {
        var renamed = Fixture.items
        renamed.version = 2
        renamed.columns[1].name = "title"
        let log = try makeLog([
            Fixture.insert(1, Fixture.items, Fixture.item(1, "a")),
            Fixture.event(2, .schema(SchemaChange(table: "items", kind: .alter, schema: renamed))),
            Fixture.insert(3, renamed, Fixture.item(3, "c")),
        ])
        let replica = folder.path("r.db")
        let file = folder.path("view.json")
        try Data(#"{"tables": {"items": {"columns": ["id", "name"]}}}"#.utf8).write(to: URL(fileURLWithPath: file))
        let outcome = try run(["--log", log, "--replica", replica, "--projection", file])
        XCTAssertEqual(outcome.status, 2, outcome.standardError)
        let error = outcome.standardError.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(error.contains("table items at LSN 2: column \"name\" was renamed to \"title\""), outcome.standardError)
        XCTAssertTrue(error.contains(#"{"name": "title", "as": "name"}"#), error)
        XCTAssertEqual(try ReplicaReader(path: replica).rows("items"), [[.integer(1), .string("a")]])
        try Data(#"{"tables": {"items": {"columns": ["id", {"name": "title", "as": "name"}]}}}"#.utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try run(["--log", log, "--replica", replica, "--projection", file]).status, 0)
        XCTAssertEqual(try ReplicaReader(path: replica).rows("items"), [[.integer(1), .string("a")], [.integer(3), .string("c")]])
    }
}
