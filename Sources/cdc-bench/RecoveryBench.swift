import CDCCore
import CDCSQLite
import CDCTransport
import CDCWorkload
import Foundation

/// Part 1 of `cdc-bench durability`: how long the agent takes, after a SIGKILL in the middle
/// of a stream, from its restart to having captured everything committed meanwhile, on a
/// large source; against reading the source file once and `PRAGMA quick_check`, in the same
/// invocation.
///
/// The agent (the real binary, a child process) runs its initial epoch, then follows a writer
/// inserting customers in 100-row transactions; once it has captured a quarter of them it is
/// killed, the writer commits the rest, and the agent is started again. The writer's
/// `wal_autocheckpoint` decides what the restart finds: with 0 (the default) the frames the
/// dead agent did not read are still in the `-wal` and it resumes from its stored position;
/// with SQLite's 1000 a checkpoint can reset the WAL while no agent pins it, and WAL mode then
/// runs a resync epoch of every table: that recovery grows with the source's size.
enum RecoveryBench {
    /// What one kill and restart measured.
    struct Measurement {
        var mode: String
        var epochSeconds: Double
        var epochEvents: Int64
        /// Inserts the agent had captured when it was killed, of ``writerRows``.
        var capturedAtKill: Int64
        var writerRows: Int
        /// Restart (spawn) to the log holding every insert (or the resync epoch ended).
        var recoverySeconds: Double
        /// Events the restarted agent appended.
        var recoveredEvents: Int64
        /// Resync epochs the restart ran.
        var resyncEpochs: Int
    }

    /// Runs the kill and restart once on the source at `sourcePath` (built by the caller),
    /// with a new log in `directory`. For `mode` "triggers" the source must be installed.
    /// - Throws: ``BenchFailure`` when the agent fails or does not catch up; ``SQLiteError``.
    static func measure(executable: String, sourcePath: String, mode: String, writerRows: Int, writerAutocheckpointPages: Int,
                        directory: String) throws -> Measurement {
        let logPath = directory + "/recovery-\(mode)-events.db", output = directory + "/recovery-\(mode)-agent.out"
        let arguments = ["run", "--db", sourcePath, "--log", logPath, "--mode", mode, "--service", "bench", "--heartbeat-interval", "0"]
        var agent = try ChildProcess(executable: executable, arguments: arguments, outputPath: output)
        defer { if agent.isRunning { agent.terminate(); _ = agent.wait() } }
        let epochSeconds = try BenchSupport.seconds {
            try BenchSupport.wait(for: "the agent's initial epoch", timeoutSeconds: 3_600, pollSeconds: 0.1) {
                guard agent.isRunning else { throw BenchFailure("cdc-agent exited early: \(ReplicationCPUBench.tail(output))") }
                return hasPosition(log: logPath, mode: mode)
            }
        }
        let base = BenchSupport.lastLSN(ofLog: logPath)
        // Polled every few milliseconds below, so cheap: one connection, two index lookups
        // (a full scan of a 1 GiB log per poll took a core from the agent being timed).
        let watcher = try LogWatcher(path: logPath)

        // The writer's first half on another thread while the agent follows; the kill once the
        // log has a quarter, so it lands while the writer commits and the agent appends.
        let writer = try ShopWriter(path: sourcePath, seed: 7, walAutocheckpointPages: writerAutocheckpointPages)
        let half = writerRows / 2
        let firstHalf = WriterThread(writer: writer, rows: half)
        firstHalf.start()
        try BenchSupport.wait(for: "the agent to capture a quarter of the inserts", timeoutSeconds: 600, pollSeconds: 0.001) {
            guard agent.isRunning else { throw BenchFailure("cdc-agent exited early: \(ReplicationCPUBench.tail(output))") }
            return try watcher.lastLSN() >= base + Int64(writerRows / 4)
        }
        _ = kill(agent.pid, SIGKILL)
        _ = agent.wait()
        try firstHalf.join()
        let capturedAtKill = try watcher.lastLSN() - base
        try writer.bulkInsertCustomers(writerRows - half, perTransaction: 100)
        let beforeRestart = try watcher.progress()

        // Restart to caught up: every insert in the log (or, after a resync, its epoch ended).
        var recoverySeconds = 0.0
        recoverySeconds = try BenchSupport.seconds {
            agent = try ChildProcess(executable: executable, arguments: arguments, outputPath: output)
            let target = base + Int64(writerRows)
            try BenchSupport.wait(for: "the restarted agent to catch up", timeoutSeconds: 3_600, pollSeconds: 0.005) {
                guard agent.isRunning else { throw BenchFailure("the restarted cdc-agent exited: \(ReplicationCPUBench.tail(output))") }
                let p = try watcher.progress()
                if p.epochsStarted > beforeRestart.epochsStarted { return p.epochsEnded == p.epochsStarted }
                return p.lastLSN >= target
            }
        }
        let after = try watcher.progress()
        try watcher.close()
        agent.terminate()
        let usage = agent.wait()
        withExtendedLifetime(writer) {}
        guard usage.status == 0 else { throw BenchFailure("cdc-agent exited with status \(usage.status): \(ReplicationCPUBench.tail(output))") }
        return Measurement(mode: mode, epochSeconds: epochSeconds, epochEvents: base, capturedAtKill: capturedAtKill, writerRows: writerRows,
                           recoverySeconds: recoverySeconds, recoveredEvents: after.lastLSN - beforeRestart.lastLSN,
                           resyncEpochs: after.epochsStarted - beforeRestart.epochsStarted)
    }

    /// Whether the agent writing the log at `path` has stored its position in `mode` (its
    /// initial epoch is complete).
    static func hasPosition(log path: String, mode: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path), let log = try? EventLog(path: path, readOnly: true) else { return false }
        defer { try? log.close() }
        return (try? log.agentState()["mode"]?.stringValue) == mode
    }

    /// Seconds to read the file at `path` once, start to end, in 1 MiB reads (the baseline:
    /// any recovery that rereads the source costs at least this).
    /// - Throws: ``BenchFailure`` when the file cannot be read.
    static func readOnceSeconds(_ path: String) throws -> Double {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw BenchFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        return BenchSupport.seconds { while read(fd, buffer, 1 << 20) > 0 {} }
    }

    /// Seconds `PRAGMA quick_check` takes on the source (every page of every b-tree read).
    /// - Throws: ``SQLiteError``; ``BenchFailure`` when the check does not say ok.
    static func quickCheckSeconds(_ path: String) throws -> Double {
        let c = try Connection(path: path, mode: .readOnly)
        defer { try? c.close() }
        var result: SQLiteValue?
        let seconds = try BenchSupport.seconds { result = try c.scalar("PRAGMA quick_check") }
        guard result?.stringValue == "ok" else { throw BenchFailure("\(path): quick_check did not say ok") }
        return seconds
    }
}

/// Reads an agent's log progress cheaply and often: one read-only connection kept open (it
/// holds no transaction between polls, so it never holds back the log's checkpoints), the
/// last LSN from the primary key's end and the epoch markers through their partial index.
private final class LogWatcher {
    private let connection: Connection

    init(path: String) throws { connection = try Connection(path: path, mode: .readOnly) }

    /// The log's highest LSN (0 when empty).
    func lastLSN() throws -> Int64 {
        if case .integer(let lsn)? = try connection.scalar("SELECT max(lsn) FROM cdc_events") { return lsn }
        return 0
    }

    /// The last LSN and the snapshot epochs started and ended.
    func progress() throws -> BenchSupport.LogProgress {
        var p = BenchSupport.LogProgress(lastLSN: try lastLSN())
        // The WHERE of the cdc_events_markers index, word for word, so SQLite uses it.
        for row in try connection.query("SELECT type FROM cdc_events WHERE type IN ('snapshot_start', 'snapshot_end')") {
            if row.first?.stringValue == "snapshot_start" { p.epochsStarted += 1 } else { p.epochsEnded += 1 }
        }
        return p
    }

    func close() throws { try connection.close() }
}

/// Runs a writer's inserts on a thread of its own, so the agent can be killed while they are
/// being committed. The writer is used by this thread only until ``join()`` returns.
private final class WriterThread: @unchecked Sendable {
    private let writer: ShopWriter
    private let rows: Int
    private let done = DispatchSemaphore(value: 0)
    private var failure: Error?

    init(writer: ShopWriter, rows: Int) {
        self.writer = writer
        self.rows = rows
    }

    func start() {
        Thread.detachNewThread { [self] in
            do { try writer.bulkInsertCustomers(rows, perTransaction: 100) } catch { failure = error }
            done.signal()
        }
    }

    /// Waits for the inserts to finish.
    /// - Throws: what the writer threw.
    func join() throws {
        done.wait()
        if let failure { throw failure }
    }
}
