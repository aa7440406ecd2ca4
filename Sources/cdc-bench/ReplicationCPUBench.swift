import CDCCore
import CDCSQLite
import CDCWorkload
import Foundation

/// Part 2 of `cdc-bench wal`: CPU seconds the agent (`cdc-agent run --mode wal`, a child
/// process) spends following a workload, against Litestream replicating the same workload to
/// a `file://` replica.
///
/// The writer's `wal_autocheckpoint` is the same for both (0 by default: both followers run
/// their own checkpoints, and Litestream's documentation advises turning the service's off
/// under heavy writes). Each follower is started before the writer and stopped with SIGTERM once it has caught
/// up; its CPU time (user + system, every thread) comes from `wait4`. Both pay the same idle
/// polling while the writer runs, so the figure is the cost of following the changes.
enum ReplicationCPUBench {
    /// What one follower used.
    struct Measurement {
        var cpuSeconds: Double
        var peakResidentBytes: Int64
        var writerSeconds: Double
        /// Seconds from the writer's last commit until the follower was seen caught up.
        var catchUpSeconds: Double
        /// For Litestream: whether a restore of the replica holds every row (`nil`: not checked).
        var verified: Bool?
        /// For the agent: resync epochs it ran (continuity lost; each re-reads every table).
        var resyncEpochs = 0
    }

    /// Runs the agent over `rows` customer inserts, `perTransaction` to a transaction.
    /// - Throws: ``BenchFailure`` when the agent fails or does not catch up.
    static func measureAgent(executable: String, rows: Int, perTransaction: Int, writerAutocheckpointPages: Int, seed: UInt64, directory: String) throws -> Measurement {
        let sourcePath = directory + "/agent-source.db", logPath = directory + "/agent-events.db", output = directory + "/agent.out"
        try SampleShop.create(at: sourcePath)
        let agent = try ChildProcess(executable: executable, arguments: ["run", "--db", sourcePath, "--log", logPath, "--mode", "wal", "--service", "bench"],
                                     outputPath: output)
        defer { if agent.isRunning { agent.terminate(); _ = agent.wait() } }
        // The first run snapshots the empty tables; the writer starts once that is stored.
        try BenchSupport.wait(for: "the agent's initial epoch", timeoutSeconds: 60) {
            guard agent.isRunning else { throw BenchFailure("cdc-agent exited early: \(tail(output))") }
            return BenchSupport.agentHasPosition(log: logPath)
        }
        let base = BenchSupport.lastLSN(ofLog: logPath)
        let writer = try ShopWriter(path: sourcePath, seed: seed, walAutocheckpointPages: writerAutocheckpointPages)
        let writerSeconds = try BenchSupport.seconds { try writer.bulkInsertCustomers(rows, perTransaction: perTransaction) }
        let catchUp = try waitForAgent(agent, log: logPath, output: output, base: base, rows: rows)
        let resyncs = BenchSupport.progress(ofLog: logPath).epochsStarted - 1
        agent.terminate()
        let usage = agent.wait()
        guard usage.status == 0 else { throw BenchFailure("cdc-agent exited with status \(usage.status): \(tail(output))") }
        withExtendedLifetime(writer) {}
        return Measurement(cpuSeconds: usage.cpuSeconds, peakResidentBytes: usage.peakResidentBytes, writerSeconds: writerSeconds,
                           catchUpSeconds: catchUp, verified: nil, resyncEpochs: resyncs)
    }

    /// Waits until the agent has captured the writer's `rows` inserts and returns how long
    /// that took after the writer's last commit.
    ///
    /// Without a resync, that is the log's last LSN reaching `base + rows`. A resync epoch
    /// (the agent lost continuity) adds snapshot rows to the log, so then it is "every epoch
    /// ended and the log quiet for a second".
    static func waitForAgent(_ agent: ChildProcess, log: String, output: String, base: Int64, rows: Int) throws -> Double {
        try BenchSupport.seconds {
            var lastChange = Date(), last = BenchSupport.LogProgress()
            try BenchSupport.wait(for: "the agent to capture \(rows) inserts", timeoutSeconds: 600, pollSeconds: 0.02) {
                guard agent.isRunning else { throw BenchFailure("cdc-agent exited early: \(tail(output))") }
                let p = BenchSupport.progress(ofLog: log)
                if p != last { last = p; lastChange = Date() }
                if p.epochsStarted <= 1 {
                    if p.lastLSN >= base + Int64(rows) { return true }
                    // Caught up with the WAL yet short of the writes: events were lost, say so.
                    if Date().timeIntervalSince(lastChange) > 10 {
                        throw BenchFailure("the agent stopped at \(p.lastLSN - base) of \(rows) inserts with no resync epoch (lost events, DESIGN.md promise 1); its files are in \(URL(fileURLWithPath: log).deletingLastPathComponent().path) when KEEP=1 is set")
                    }
                    return false
                }
                return p.epochsEnded == p.epochsStarted && Date().timeIntervalSince(lastChange) > 1
            }
        }
    }

    /// Runs Litestream (`litestream replicate -config FILE`) over the same workload, then
    /// restores the replica and counts the rows.
    /// - Throws: ``BenchFailure`` when Litestream fails to start or to replicate.
    static func measureLitestream(executable: String, rows: Int, perTransaction: Int, writerAutocheckpointPages: Int, seed: UInt64, directory: String) throws -> Measurement {
        let sourcePath = directory + "/litestream-source.db", replica = directory + "/litestream-replica"
        let config = directory + "/litestream.yml", output = directory + "/litestream.out"
        try SampleShop.create(at: sourcePath)
        // Litestream 0.5's configuration: one database, one replica (https://litestream.io/reference/config/).
        try """
            dbs:
              - path: \(sourcePath)
                replica:
                  url: file://\(replica)

            """.write(toFile: config, atomically: true, encoding: .utf8)
        let litestream = try ChildProcess(executable: executable, arguments: ["replicate", "-config", config], outputPath: output)
        defer { if litestream.isRunning { litestream.terminate(); _ = litestream.wait() } }
        // Started once it has written its first snapshot of the (empty) database to the replica.
        try BenchSupport.wait(for: "Litestream's first replica write", timeoutSeconds: 60, pollSeconds: 0.1) {
            guard litestream.isRunning else { throw BenchFailure("litestream exited early: \(tail(output))") }
            return BenchSupport.treeSize(replica).files > 0
        }
        let writer = try ShopWriter(path: sourcePath, seed: seed, walAutocheckpointPages: writerAutocheckpointPages)
        let writerSeconds = try BenchSupport.seconds { try writer.bulkInsertCustomers(rows, perTransaction: perTransaction) }
        // Litestream says nothing when it has caught up: its replica stops changing (it syncs
        // every second by default, so three quiet seconds mean done).
        let catchUp = try BenchSupport.seconds {
            try BenchSupport.waitUntilStable("Litestream's replica to stop changing", quietSeconds: 3, timeoutSeconds: 600) {
                guard litestream.isRunning else { throw BenchFailure("litestream exited early: \(tail(output))") }
                let size = BenchSupport.treeSize(replica)
                return [size.bytes, Int64(size.files)]
            }
        } - 3
        litestream.terminate()
        let usage = litestream.wait()
        withExtendedLifetime(writer) {}
        let verified = try restoredRowCount(executable: executable, replica: replica, directory: directory) == rows
        return Measurement(cpuSeconds: usage.cpuSeconds, peakResidentBytes: usage.peakResidentBytes, writerSeconds: writerSeconds,
                           catchUpSeconds: max(0, catchUp), verified: verified)
    }

    /// Restores the replica into a new file with `litestream restore` and counts its customers.
    private static func restoredRowCount(executable: String, replica: String, directory: String) throws -> Int? {
        let restored = directory + "/litestream-restored.db"
        let restore = try ChildProcess(executable: executable, arguments: ["restore", "-o", restored, "file://" + replica], outputPath: directory + "/restore.out")
        guard restore.wait().status == 0, FileManager.default.fileExists(atPath: restored) else { return nil }
        let c = try Connection(path: restored, mode: .readOnly)
        defer { try? c.close() }
        if case .integer(let n)? = try c.scalar("SELECT count(*) FROM customers") { return Int(n) }
        return nil
    }

    /// The last line of a child's output, for an error message.
    static func tail(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").last.map(String.init) ?? "(no output)"
    }
}
