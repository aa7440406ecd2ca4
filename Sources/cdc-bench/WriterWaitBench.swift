import CDCCore
import CDCSQLite
import CDCWorkload
import Foundation

/// How long the service's writers wait because of the agent (issue 4, point 6; promise 5).
///
/// A writer commits small transactions (3 row upserts, `BEGIN IMMEDIATE` … `COMMIT`, a 1 ms
/// pause between them, and every 300th transaction 2,000 rows so the agent has real work when
/// it takes its barrier) for a fixed time, with SQLite's default busy handler (busy timeout
/// 5 s) as a service has it, and SQLite's default `wal_autocheckpoint` (1,000 pages). Each
/// `BEGIN IMMEDIATE` is timed: that is the time the writer waited for the write lock, the only
/// lock the agent ever holds against writers (its barrier in WAL mode; in trigger mode the
/// transaction that deletes consumed change rows). The same writer runs once without an agent
/// (the baseline, same invocation) and once with `cdc-agent run` as a daemon.
enum WriterWaitBench {
    /// The writer's waits in one run.
    struct Measurement {
        var transactions: Int
        /// Time to get the write lock, milliseconds, sorted.
        var lockWaits: [Double]
        /// Whole small transactions, milliseconds, sorted (the commit's fsync included).
        var transactionTimes: [Double]

        func percentile(_ p: Double, of values: [Double]) -> Double {
            guard !values.isEmpty else { return 0 }
            return values[min(values.count - 1, Int(Double(values.count) * p))]
        }
    }

    enum Mode: String, CaseIterable { case wal, triggers }

    /// One run of the writer for `seconds`, with the agent in `mode` when `executable` is given.
    /// - Throws: ``BenchFailure`` when the agent fails, SQLite errors of the writer.
    static func measure(mode: Mode, executable: String?, seconds: Double, writers: Int, directory: String) throws -> Measurement {
        let sourcePath = directory + "/source.db", logPath = directory + "/events.db", output = directory + "/agent.out"
        let setup = try Connection(path: sourcePath, mode: .create)
        try setup.execute("PRAGMA journal_mode=WAL")
        try setup.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, v TEXT)")
        try setup.close()
        if mode == .triggers, let executable {
            let install = try ChildProcess(executable: executable, arguments: ["install", "--db", sourcePath], outputPath: output)
            guard install.wait().status == 0 else { throw BenchFailure("cdc-agent install failed: \(ReplicationCPUBench.tail(output))") }
        }
        var agent: ChildProcess?
        if let executable {
            let a = try ChildProcess(executable: executable, arguments: ["run", "--db", sourcePath, "--log", logPath, "--mode", mode.rawValue, "--service", "bench"],
                                     outputPath: output)
            agent = a
            try BenchSupport.wait(for: "the agent's initial epoch", timeoutSeconds: 60) {
                guard a.isRunning else { throw BenchFailure("cdc-agent exited early: \(ReplicationCPUBench.tail(output))") }
                return mode == .wal ? BenchSupport.agentHasPosition(log: logPath) : BenchSupport.lastLSN(ofLog: logPath) >= 2
            }
        }
        defer { if let agent, agent.isRunning { agent.terminate(); _ = agent.wait() } }
        let results = try runWriters(path: sourcePath, count: writers, seconds: seconds)
        if let agent {
            agent.terminate()
            let usage = agent.wait()
            guard usage.status == 0 else { throw BenchFailure("cdc-agent exited with status \(usage.status): \(ReplicationCPUBench.tail(output))") }
        }
        return Measurement(transactions: results.transactions, lockWaits: results.lockWaits.sorted(), transactionTimes: results.transactionTimes.sorted())
    }

    /// `count` writer threads, each with its own connection, for `seconds`.
    private static func runWriters(path: String, count: Int, seconds: Double) throws -> (transactions: Int, lockWaits: [Double], transactionTimes: [Double]) {
        let results = WriterResults()
        let group = DispatchGroup()
        for w in 0..<count {
            group.enter()
            Thread {
                defer { group.leave() }
                results.add { try writeFor(path: path, seconds: seconds, seed: UInt64(w + 1)) }
            }.start()
        }
        group.wait()
        return try results.total()
    }

    private static func writeFor(path: String, seconds: Double, seed: UInt64) throws -> (transactions: Int, lockWaits: [Double], transactionTimes: [Double]) {
        let c = try Connection(path: path, mode: .readWrite, busyTimeoutMilliseconds: 5_000)
        defer { try? c.close() }
        let upsert = try c.prepare("INSERT OR REPLACE INTO items(id, v) VALUES (?, ?)")
        var rng = SplitMix64(seed: seed)
        var waits: [Double] = [], times: [Double] = []
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        var i = 0
        while DispatchTime.now().uptimeNanoseconds < end {
            let started = DispatchTime.now().uptimeNanoseconds
            try c.execute("BEGIN IMMEDIATE")
            let locked = DispatchTime.now().uptimeNanoseconds
            let rows = i % 300 == 299 ? 2_000 : 3
            for _ in 0..<rows {
                try upsert.run([.integer(Int64(rng.next() % 50_000)), .string(String(repeating: "x", count: Int(rng.next() % 200) + 1))])
            }
            try c.execute("COMMIT")
            let done = DispatchTime.now().uptimeNanoseconds
            waits.append(Double(locked - started) / 1e6)
            if rows == 3 { times.append(Double(done - started) / 1e6) }
            i += 1
            usleep(1_000)
        }
        return (i, waits, times)
    }
}

/// What the writer threads measured, gathered under a lock.
private final class WriterResults: @unchecked Sendable {
    private let lock = NSLock()
    private var waits: [Double] = [], times: [Double] = [], transactions = 0
    private var failure: Error?

    func add(_ run: () throws -> (transactions: Int, lockWaits: [Double], transactionTimes: [Double])) {
        do {
            let r = try run()
            lock.withLock { waits += r.lockWaits; times += r.transactionTimes; transactions += r.transactions }
        } catch {
            lock.withLock { failure = failure ?? error }
        }
    }

    func total() throws -> (transactions: Int, lockWaits: [Double], transactionTimes: [Double]) {
        try lock.withLock {
            if let failure { throw failure }
            return (transactions, waits, times)
        }
    }
}
