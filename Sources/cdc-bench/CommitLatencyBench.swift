import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// Commit-to-event latency of `cdc-agent run --mode wal` (issue 3, point 7).
///
/// A writer commits one row per transaction, each row holding the wall-clock time (ms) taken
/// just before its insert, so the latency includes the commit itself; the writer's own commit
/// time is reported beside it for scale. The agent runs as a daemon (inotify). Latency = the
/// event's `ts_ms` (when the agent decoded the transaction) − the row's time.
enum CommitLatencyBench {
    struct Measurement {
        var commits: Int
        var medianMilliseconds: Double
        var p90Milliseconds: Double
        var maxMilliseconds: Double
        /// The writer's own median commit time (its fsync), for scale.
        var medianCommitMilliseconds: Double
    }

    static func measure(executable: String, commits: Int, pauseMilliseconds: Int, directory: String) throws -> Measurement {
        let sourcePath = directory + "/latency-source.db", logPath = directory + "/latency-events.db", output = directory + "/latency-agent.out"
        let writer = try Connection(path: sourcePath, mode: .create)
        try writer.execute("PRAGMA journal_mode=WAL")
        try writer.execute("CREATE TABLE stamps(id INTEGER PRIMARY KEY, committed_ms INTEGER NOT NULL)")
        let agent = try ChildProcess(executable: executable, arguments: ["run", "--db", sourcePath, "--log", logPath, "--mode", "wal", "--service", "bench"],
                                     outputPath: output)
        defer { if agent.isRunning { agent.terminate(); _ = agent.wait() } }
        try BenchSupport.wait(for: "the agent's initial epoch", timeoutSeconds: 60, pollSeconds: 0.05) {
            guard agent.isRunning else { throw BenchFailure("cdc-agent exited early: \(ReplicationCPUBench.tail(output))") }
            return BenchSupport.agentHasPosition(log: logPath)
        }
        var commitTimes: [Double] = []
        for i in 0..<commits {
            let started = DispatchTime.now().uptimeNanoseconds
            try writer.execute("INSERT INTO stamps VALUES (?, ?)", [.integer(Int64(i)), .integer(EventLog.nowMilliseconds())])
            commitTimes.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
            usleep(useconds_t(pauseMilliseconds * 1000))
        }
        try BenchSupport.wait(for: "the agent to capture every commit", timeoutSeconds: 60, pollSeconds: 0.05) {
            BenchSupport.lastLSN(ofLog: logPath) >= Int64(commits) + 2
        }
        agent.terminate()
        _ = agent.wait()
        let log = try EventLog(path: logPath, readOnly: true)
        var latencies: [Double] = []
        for e in try log.read(after: .zero, limit: commits * 2 + 10) {
            guard let c = e.change, c.operation == .insert, c.table.name == "stamps", case .integer(let ms)? = c.after?.last else { continue }
            latencies.append(Double(e.timestampMilliseconds - ms))
        }
        try log.close()
        guard latencies.count == commits else { throw BenchFailure("the log holds \(latencies.count) of \(commits) commits") }
        latencies.sort()
        commitTimes.sort()
        return Measurement(commits: commits, medianMilliseconds: latencies[latencies.count / 2],
                           p90Milliseconds: latencies[latencies.count * 9 / 10], maxMilliseconds: latencies[latencies.count - 1],
                           medianCommitMilliseconds: commitTimes[commitTimes.count / 2])
    }
}
