import CDCTestSupport
import CDCCapture
import CDCCore
import CDCSQLite
import CDCTransport
import Foundation
import XCTest

/// Issue 4 point 7: a full disk or a read-only event log stops the real `cdc-agent run`
/// daemon with one clear line (exit 1); nothing that was not durably appended is consumed
/// (change rows stay, the stored WAL position does not move); once the log can be written
/// again, a restart resumes with every change in the log exactly once, without a resync.
///
/// How the failures are made, for any user and without mounting anything:
/// - **Full**: the agent runs under `/bin/sh -c 'trap "" XFSZ; ulimit -f N; exec …'`, so every
///   file it writes is limited to N×512 bytes (`RLIMIT_FSIZE`) and, SIGXFSZ being ignored
///   (inherited through exec), a write past the limit fails with `EFBIG` or stops short, the
///   same short write and error a full file system gives (SQLite: `SQLITE_FULL` or
///   `SQLITE_IOERR_WRITE`). This hits the real append path (WAL frames of the log's commit)
///   mid-run, after some batches landed. It is a limit per file, not per file system: the
///   source's files are kept below it (the workload's WAL is checkpointed away first) so the
///   log is what fills up. `PRAGMA max_page_count` was not used: it is per connection, the
///   agent never sets it, so a test would have to reach into the agent to apply it.
/// - **Read-only**: the log file is made read-only before the agent starts: `chmod 0444` for
///   an ordinary user; as root (who writes through any mode), `chattr +i` when the file
///   system allows it, else the test is skipped. SQLite then opens the log read-only and the
///   first write fails with `SQLITE_READONLY`. A log that turns read-only under a running
///   agent is not covered (the open descriptor keeps write access in both methods).
final class LogStorageFailureTests: XCTestCase {
    var agent: String { productsFolder(for: Self.self).appendingPathComponent("cdc-agent").path }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: agent) else {
            throw XCTSkip("cdc-agent is not built next to the test bundle (\(agent)); run swift build first")
        }
    }

    /// Rows of the workload, their text size and the agent's batch: 30 inserts and 30 updates
    /// of 20,000-byte texts make about 1.8 MB of events (an update carries both images), over
    /// the 1.25 MiB limit, while the source's database file stays near 0.6 MB. Large values
    /// live in overflow pages, which a delete frees without rewriting, so in trigger mode the
    /// agent's deletes write a page or two per batch to the source while the log takes the
    /// whole values: the log, not the source, reaches the limit.
    static let rows = 30, textBytes = 20_000, batchSize = "4"
    static let fileSizeLimitBlocks = 2_560  // × 512 bytes = 1.25 MiB

    func testFullLogStopsTheWALDaemonAndARestartResumes() throws {
        try assertFullLogStopsAndResumes(mode: "wal")
    }

    func testFullLogStopsTheTriggerDaemonAndKeepsTheChangeRows() throws {
        try assertFullLogStopsAndResumes(mode: "triggers")
    }

    func testReadOnlyLogStopsTheWALDaemon() throws {
        try assertReadOnlyLogStopsAndResumes(mode: "wal")
    }

    func testReadOnlyLogStopsTheTriggerDaemonAndKeepsTheChangeRows() throws {
        try assertReadOnlyLogStopsAndResumes(mode: "triggers")
    }

    // MARK: - Scenarios

    private func assertFullLogStopsAndResumes(mode: String) throws {
        let tmp = try TemporaryFolder()
        let (db, log) = (tmp.path("src.db"), tmp.path("events.db"))
        try prepareSource(db: db, log: log, mode: mode)
        let source = try Connection(path: db)
        try writeWorkload(source, mode: mode)
        let pendingBefore = try pendingChangeRows(source, mode: mode)

        let limited = try runProgram("/bin/sh", ["-c", "trap '' XFSZ; ulimit -f \(Self.fileSizeLimitBlocks); exec \"$0\" \"$@\"",
                                                 agent, "run", "--db", db, "--log", log, "--mode", mode, "--batch-size", Self.batchSize,
                                                 "--heartbeat-interval", "0", "--poll-interval", "5ms"], timeoutSeconds: 60)
        XCTAssertEqual(limited.status, 1, "a full log ends the daemon with exit 1; stderr: \(limited.standardError)")
        let lastLine = limited.standardError.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(lastLine.contains("the event log's disk is full") && lastLine.contains(log) && lastLine.contains("start cdc-agent again"),
                      "one line naming the log, what happened and what to do: \(lastLine)")

        let (storedBefore, record) = try logFacts(log)
        XCTAssertTrue(record?.message.contains("disk is full") ?? false, "the failure is the agent's recorded last error: \(String(describing: record))")
        let status = try runProcess(agent, ["status", "--db", db, "--log", log, "--json"])
        XCTAssertEqual(status.code, 0, status.err)
        XCTAssertTrue(status.out.contains("the event log's disk is full"), "cdc-agent status shows it as the last error: \(status.out)")
        XCTAssertLessThan(storedBefore, 2 * Self.rows, "the limit must stop the agent mid-stream for this test to mean anything")
        XCTAssertGreaterThan(storedBefore, 0, "some batches landed before the log filled up")
        if mode == "triggers" {
            // Only rows whose events are in the log were deleted.
            XCTAssertEqual(try pendingChangeRows(source, mode: mode), pendingBefore - storedBefore, "change rows of events that were not appended stay")
        }

        // Space freed (no limit): the restart resumes where the failed run stopped.
        try assertRestartDeliversEverythingOnce(db: db, log: log, mode: mode)
        if mode == "triggers" { XCTAssertEqual(try pendingChangeRows(source, mode: mode), 0) }
        try source.close()
    }

    private func assertReadOnlyLogStopsAndResumes(mode: String) throws {
        let tmp = try TemporaryFolder()
        let (db, log) = (tmp.path("src.db"), tmp.path("events.db"))
        try prepareSource(db: db, log: log, mode: mode)
        let source = try Connection(path: db)
        try writeWorkload(source, mode: mode)
        let pendingBefore = try pendingChangeRows(source, mode: mode)

        let (method, undo) = try makeReadOnly(log)
        defer { undo() }
        let refused = try runProgram(agent, ["run", "--db", db, "--log", log, "--mode", mode, "--heartbeat-interval", "0"], timeoutSeconds: 60)
        undo()
        XCTAssertEqual(refused.status, 1, "a read-only log (\(method)) ends the daemon with exit 1; stderr: \(refused.standardError)")
        let lastLine = refused.standardError.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(lastLine.contains("the event log is read-only") && lastLine.contains(log) && lastLine.contains("writable"),
                      "one line naming the log, what happened and what to do: \(lastLine)")
        XCTAssertEqual(try logFacts(log).changeEvents, 0, "nothing was appended")
        if mode == "triggers" { XCTAssertEqual(try pendingChangeRows(source, mode: mode), pendingBefore, "no change row was deleted") }

        try assertRestartDeliversEverythingOnce(db: db, log: log, mode: mode)
        try source.close()
    }

    // MARK: - Steps

    /// A WAL-mode source with one table, captured once (its initial epoch, empty) so the log exists.
    private func prepareSource(db: String, log: String, mode: String) throws {
        try makeDatabase(at: db, sql: "CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT NOT NULL)").close()
        if mode == "triggers" {
            let installed = try runProcess(agent, ["install", "--db", db])
            XCTAssertEqual(installed.code, 0, installed.err)
        }
        let first = try runProcess(agent, ["run", "--db", db, "--log", log, "--mode", mode, "--once"])
        XCTAssertEqual(first.code, 0, first.err)
    }

    /// Inserts then updates every row, ten rows per transaction, while the agent is stopped.
    /// The writer never checkpoints on its own (`wal_autocheckpoint=0`): a WAL-mode agent
    /// that finds frames checkpointed away while it was stopped must resync, and this test
    /// wants a plain resume. In trigger mode the WAL is then checkpointed away (TRUNCATE), so
    /// the limited agent's own deletes in the source write at the start of a fresh `-wal`,
    /// far below the file-size limit; in WAL mode the agent only reads the source's `-wal`,
    /// and its checkpoints write the database file, which stays under 2 MiB.
    private func writeWorkload(_ source: Connection, mode: String) throws {
        try source.execute("PRAGMA wal_autocheckpoint=0")
        var n = 0
        for phase in 0..<2 {
            for start in stride(from: 0, to: Self.rows, by: 10) {
                try source.transaction {
                    for id in start..<start + 10 {
                        n += 1
                        let text = String(repeating: String(UnicodeScalar(UInt8(97 + (n % 26)))), count: Self.textBytes)
                        if phase == 0 {
                            try source.execute("INSERT INTO docs VALUES (?, ?)", [.integer(Int64(id)), .string(text)])
                        } else {
                            try source.execute("UPDATE docs SET body = ? WHERE id = ?", [.string(text), .integer(Int64(id))])
                        }
                    }
                }
            }
        }
        if mode == "triggers" { try source.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Runs the agent again without any limit until it has captured everything, then checks
    /// that every insert and every update is in the log exactly once and that no resync epoch
    /// ran (the stored position was where the failed run left it).
    private func assertRestartDeliversEverythingOnce(db: String, log: String, mode: String) throws {
        let again = try runProcess(agent, ["run", "--db", db, "--log", log, "--mode", mode, "--once"])
        XCTAssertEqual(again.code, 0, again.err)
        let events = try EventLog(path: log, readOnly: true)
        defer { try? events.close() }
        var seen: [String: Int] = [:]
        var epochs = 0
        for e in try readAll(events) {
            switch e.body {
            case .change(let c) where c.operation == .insert || c.operation == .update:
                guard case .integer(let id)? = c.key.first else { XCTFail("key of \(c.table.name) is not an integer"); continue }
                seen["\(c.operation.rawValue) \(id)", default: 0] += 1
            case .snapshotStart:
                epochs += 1
            default:
                break
            }
        }
        XCTAssertEqual(epochs, 1, "only the initial epoch: the restart resumed, it did not resync")
        XCTAssertEqual(seen.count, 2 * Self.rows, "every insert and update is in the log")
        XCTAssertEqual(seen.values.filter { $0 != 1 }.count, 0, "no change is in the log twice")
    }

    /// Change events in the log, and the agent's recorded last error.
    private func logFacts(_ path: String) throws -> (changeEvents: Int, record: AgentErrorRecord?) {
        let log = try EventLog(path: path, readOnly: true)
        defer { try? log.close() }
        let changes = try readAll(log).filter { if case .change(let c) = $0.body { return c.operation != .snapshot } else { return false } }
        return (changes.count, try AgentErrorRecord.read(from: log))
    }

    /// Change rows after the consumed position `_cdc_meta` records (trigger mode; 0 in WAL
    /// mode): committed changes the agent has not appended yet, so has not deleted.
    private func pendingChangeRows(_ source: Connection, mode: String) throws -> Int {
        guard mode == "triggers" else { return 0 }
        guard case .integer(let n)? = try source.scalar("""
            SELECT count(*) FROM _cdc_changes WHERE seq > coalesce((SELECT value FROM _cdc_meta WHERE key = 'consumed_seq'), 0)
            """) else { return -1 }
        return Int(n)
    }

    /// Makes `path` read-only for this process; returns how, and how to undo it.
    private func makeReadOnly(_ path: String) throws -> (method: String, undo: () -> Void) {
        if geteuid() != 0 {
            chmod(path, 0o444)
            return ("chmod 0444", { chmod(path, 0o600) })
        }
        // Root writes through any file mode; an immutable file refuses even root.
        let set = try runProgram("/usr/bin/env", ["chattr", "+i", path])
        guard set.status == 0 else {
            throw XCTSkip("running as root and chattr +i is not available here (\(set.standardError)); a read-only log cannot be made")
        }
        var undone = false
        return ("chattr +i (root)", {
            guard !undone else { return }
            undone = true
            _ = try? runProgram("/usr/bin/env", ["chattr", "-i", path])
        })
    }
}
