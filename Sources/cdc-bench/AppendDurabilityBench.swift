import CDCCore
import CDCSQLite
import CDCWorkload
import Foundation

/// Part 2 of `cdc-bench durability`: capture throughput when every source transaction is its
/// own durable append (one fsync of the log each; `--batch-size 1` with one row per
/// transaction) against batched group commit (many transactions per append), in the same
/// invocation.
///
/// Each run gets a fresh small source (the sample shop) and log: the agent captures the empty
/// tables once (`--once`), a writer commits N single-row inserts with `wal_autocheckpoint=0`
/// and keeps its connection open (so the frames stay in the `-wal`), then
/// `cdc-agent run --once --batch-size B` is timed from spawn to exit. The backlog makes the
/// batching depend on `--batch-size` alone; a daemon following a live writer batches what
/// arrived while it appended, and `--linger` lets more gather (docs/wal-capture.md).
enum AppendDurabilityBench {
    /// One run's figures.
    struct Measurement {
        var mode: String
        var batchSize: Int
        var events: Int64
        var seconds: Double
        var eventsPerSecond: Double { Double(events) / seconds }
    }

    /// Measures one mode and batch size over `rows` single-row transactions in `directory`.
    /// - Throws: ``BenchFailure`` when the agent fails or misses events; ``SQLiteError``.
    static func measure(executable: String, mode: String, batchSize: Int, rows: Int, directory: String) throws -> Measurement {
        let sourcePath = directory + "/source.db", logPath = directory + "/events.db", output = directory + "/agent.out"
        try SampleShop.create(at: sourcePath)
        if mode == "triggers" { try runAgent(executable, ["install", "--db", sourcePath], output: output) }
        try runAgent(executable, ["run", "--db", sourcePath, "--log", logPath, "--mode", mode, "--service", "bench", "--once"], output: output)
        let base = BenchSupport.lastLSN(ofLog: logPath)
        let writer = try ShopWriter(path: sourcePath, seed: 3, walAutocheckpointPages: 0)
        try writer.bulkInsertCustomers(rows, perTransaction: 1)
        let seconds = try BenchSupport.seconds {
            try runAgent(executable, ["run", "--db", sourcePath, "--log", logPath, "--mode", mode, "--service", "bench", "--once",
                                      "--batch-size", String(batchSize)], output: output)
        }
        let progress = BenchSupport.progress(ofLog: logPath)
        withExtendedLifetime(writer) {}
        guard progress.epochsStarted == 1 else { throw BenchFailure("\(mode), batch \(batchSize): the agent ran a resync epoch; the backlog was not captured as a stream") }
        let events = progress.lastLSN - base
        guard events == Int64(rows) else { throw BenchFailure("\(mode), batch \(batchSize): \(events) events for \(rows) inserts") }
        return Measurement(mode: mode, batchSize: batchSize, events: events, seconds: seconds)
    }

    /// Runs the agent to completion.
    /// - Throws: ``BenchFailure`` with its last line when it exits non-zero.
    private static func runAgent(_ executable: String, _ arguments: [String], output: String) throws {
        let child = try ChildProcess(executable: executable, arguments: arguments, outputPath: output)
        let usage = child.wait(timeoutSeconds: 3_600)
        guard usage.status == 0 else { throw BenchFailure("cdc-agent \(arguments.first ?? "") exited with status \(usage.status): \(ReplicationCPUBench.tail(output))") }
    }
}
