import CDCCommandLine
import CDCSQLite
import Foundation

/// `cdc-bench wal`: the WAL-capture benchmark (docs/benchmarks.md, "WAL capture").
struct WALBenchCommand {
    static let usage = """
        usage: cdc-bench wal [--rows N] [--per-transaction K[,K…]] [--parts decode,cpu,memory,latency]
                             [--database-size SIZE | --large] [--litestream PATH]
                             [--writer-autocheckpoint PAGES]

        Measures WAL capture in one run, each figure as a ratio against a baseline run in
        the same invocation (the sample shop's customers table, N inserts, K per transaction):
          decode   WALCapture.captureAvailable() over a WAL the writer left (wal_autocheckpoint=0):
                   row changes/s and WAL MB/s, decode alone and decode + durable append,
                   against the writer's own time (target: decode ≥ 5x faster than the writes)
          cpu      CPU seconds per 100,000 row changes of `cdc-agent run --mode wal` following
                   the writer, against Litestream replicating the same writes to a file://
                   replica (target ≤ 2x); skipped, with a hint, when Litestream is not found.
                   The writer's wal_autocheckpoint is --writer-autocheckpoint (default 0: both
                   followers checkpoint; 1000 is SQLite's default)
          memory   the agent's peak RSS through the initial snapshot epoch of a large source,
                   2,000 small transactions and one of 100,000 inserts (target ≤ 64 MiB)
          latency  commit-to-event latency of the daemon, one row per commit every 20 ms
                   (target median < 10 ms)
        Defaults: --rows 100000, --per-transaction 1,100,10000, every part,
        --database-size 128MB (--large means 1GiB: minutes, and about 3 GiB of temporary disk).
        Litestream: --litestream PATH, else $LITESTREAM, else .build/litestream/litestream
        (scripts/bench/fetch-litestream puts it there), else `litestream` on PATH.
        Needs cdc-agent built beside cdc-bench: swift build -c release
        KEEP=1 in the environment keeps the temporary files (for a failed run).
        """

    enum Part: String, CaseIterable { case decode, cpu, memory, latency }

    var rows: Int
    var perTransactionShapes: [Int]
    var parts: [Part]
    var databaseBytes: Int64
    var litestreamOption: String?
    var writerAutocheckpointPages: Int

    init(arguments: [String]) throws {
        var scanner = ArgumentScanner(command: "cdc-bench wal", arguments: arguments)
        if scanner.wantsHelp() { print(Self.usage); exit(0) }
        rows = Int(try scanner.integer("--rows", range: 100...100_000_000) ?? 100_000)
        perTransactionShapes = try (scanner.list("--per-transaction") ?? ["1", "100", "10000"]).map {
            guard let k = Int($0), k > 0 else { throw UsageError("cdc-bench wal: --per-transaction takes positive integers, got \($0)") }
            return k
        }
        parts = try (scanner.list("--parts") ?? Part.allCases.map(\.rawValue)).map {
            guard let p = Part(rawValue: $0) else { throw UsageError("cdc-bench wal: --parts takes decode, cpu, memory and latency, not \($0)") }
            return p
        }
        let large = try scanner.flag("--large")
        let size = try scanner.size("--database-size")
        litestreamOption = try scanner.value("--litestream")
        writerAutocheckpointPages = Int(try scanner.integer("--writer-autocheckpoint", range: 0...1_000_000) ?? 0)
        try scanner.finish()
        if large && size != nil { throw UsageError("cdc-bench wal: give --large or --database-size, not both") }
        databaseBytes = large ? 1 << 30 : (size ?? 128 << 20)
        guard databaseBytes >= 1 << 20 else { throw UsageError("cdc-bench wal: --database-size must be at least 1MB") }
        let rowCount = rows
        perTransactionShapes = Array(Set(perTransactionShapes.map { min($0, rowCount) })).sorted()
    }

    func run() throws -> ExitCode {
        print("cdc-bench wal: \(rows) customer inserts per shape; \(BenchMachine.description())")
        let directory = try BenchSupport.makeTemporaryDirectory("cdc-bench-wal")
        defer { if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var missed: [String] = []
        if parts.contains(.decode) { missed += try runDecode(directory) }
        if parts.contains(.cpu) { missed += try runCPU(directory) }
        if parts.contains(.memory) { missed += try runMemory(directory) }
        if parts.contains(.latency) { missed += try runLatency(directory) }
        print(missed.isEmpty ? "targets met" : "targets missed: " + missed.joined(separator: "; "))
        return .success
    }

    private func runDecode(_ directory: String) throws -> [String] {
        print("\n1. decode: WALCapture over a written WAL, against the writer's time (target ≥ 5x)")
        print("rows/txn |  WAL MB | writer s | decode s | append s | decode rows/s | decode MB/s | decode vs writes | +append rows/s | +append vs writes")
        print("-------: | ------: | -------: | -------: | -------: | ------------: | ----------: | ---------------: | -------------: | ----------------:")
        var missed: [String] = []
        for k in perTransactionShapes {
            let m = try inSubdirectory(directory, "decode-\(k)") { try WALDecodeBench.measure(rows: rows, perTransaction: k, seed: 1, directory: $0) }
            let mb = Double(m.walBytes) / 1e6
            let ratio = m.writerSeconds / m.decodeSeconds
            print(String(format: "%8d | %7.1f | %8.3f | %8.3f | %8.3f | %13.0f | %11.1f | %15.2fx | %14.0f | %16.2fx",
                         k, mb, m.writerSeconds, m.decodeSeconds, m.appendSeconds, Double(m.rowChanges) / m.decodeSeconds, mb / m.decodeSeconds,
                         ratio, Double(m.rowChanges) / m.captureSeconds, m.writerSeconds / m.captureSeconds))
            if ratio < 5 { missed.append(String(format: "decode %.2fx < 5x at %d rows/txn", ratio, k)) }
        }
        return missed
    }

    private func runCPU(_ directory: String) throws -> [String] {
        print("\n2. cpu: CPU seconds per 100,000 row changes, cdc-agent --mode wal against Litestream (target ≤ 2x)")
        guard let agent = BenchSupport.siblingExecutable("cdc-agent") else {
            throw BenchFailure("cdc-agent is not built beside cdc-bench; run `swift build -c release` first")
        }
        let litestream = LitestreamLocator.find(option: litestreamOption)
        if litestream == nil { print("Litestream not found: skipping its column. " + LitestreamLocator.hint) }
        print("rows/txn | writer s | agent CPU s | agent CPU/100k | agent peak | resyncs | Litestream CPU s | Litestream CPU/100k | Litestream peak | restore ok | agent ÷ Litestream")
        print("-------: | -------: | ----------: | -------------: | ---------: | ------: | ---------------: | ------------------: | --------------: | :--------: | -----------------:")
        var missed: [String] = []
        let per100k = 100_000 / Double(rows)
        for k in perTransactionShapes {
            let a: ReplicationCPUBench.Measurement
            do {
                a = try inSubdirectory(directory, "agent-\(k)") {
                    try ReplicationCPUBench.measureAgent(executable: agent, rows: rows, perTransaction: k, writerAutocheckpointPages: writerAutocheckpointPages, seed: 1, directory: $0)
                }
            } catch let failure as BenchFailure {
                // One shape's failure (an agent that exits or loses events) is a finding; the other shapes still run.
                print(String(format: "%8d | ", k) + "agent failed: \(failure.description)")
                missed.append("the agent failed at \(k) rows/txn")
                continue
            }
            var line = String(format: "%8d | %8.3f | %11.3f | %14.3f | ", k, a.writerSeconds, a.cpuSeconds, a.cpuSeconds * per100k)
                + pad(BenchSupport.mebibytes(a.peakResidentBytes), 10) + String(format: " | %7d | ", a.resyncEpochs)
            if let litestream {
                let l = try inSubdirectory(directory, "litestream-\(k)") {
                    try ReplicationCPUBench.measureLitestream(executable: litestream, rows: rows, perTransaction: k, writerAutocheckpointPages: writerAutocheckpointPages, seed: 1, directory: $0)
                }
                let ratio = a.cpuSeconds / max(l.cpuSeconds, 1e-6)
                line += String(format: "%16.3f | %19.3f | ", l.cpuSeconds, l.cpuSeconds * per100k) + pad(BenchSupport.mebibytes(l.peakResidentBytes), 15)
                    + " | " + pad(l.verified == true ? "yes" : "NO", 10) + String(format: " | %17.2fx", ratio)
                if a.resyncEpochs > 0 { missed.append("the agent ran \(a.resyncEpochs) resync epoch(s) at \(k) rows/txn") }
                if ratio > 2 { missed.append(String(format: "agent CPU %.2fx Litestream's > 2x at %d rows/txn", ratio, k)) }
            } else {
                line += "               - |                   - |               - |          - |                  -"
            }
            print(line)
        }
        return missed
    }

    private func runLatency(_ directory: String) throws -> [String] {
        print("\n4. latency: commit to event, the agent as a daemon (inotify), one row per commit every 20 ms (target median < 10 ms)")
        guard let agent = BenchSupport.siblingExecutable("cdc-agent") else {
            throw BenchFailure("cdc-agent is not built beside cdc-bench; run `swift build -c release` first")
        }
        let m = try inSubdirectory(directory, "latency") {
            try CommitLatencyBench.measure(executable: agent, commits: 300, pauseMilliseconds: 20, directory: $0)
        }
        print(String(format: "commits %d: latency median %.0f ms, p90 %.0f ms, max %.0f ms (the writer's own commit: median %.2f ms); median ÷ 10 ms target: %.2fx",
                     m.commits, m.medianMilliseconds, m.p90Milliseconds, m.maxMilliseconds, m.medianCommitMilliseconds, m.medianMilliseconds / 10))
        return m.medianMilliseconds < 10 ? [] : ["commit-to-event latency median \(m.medianMilliseconds) ms ≥ 10 ms"]
    }

    private func runMemory(_ directory: String) throws -> [String] {
        print("\n3. memory: the agent's peak RSS on a \(BenchSupport.mebibytes(databaseBytes)) source (target ≤ 64 MiB)")
        if databaseBytes < 1 << 30 { print("(the 1 GiB figure needs --large)") }
        guard let agent = BenchSupport.siblingExecutable("cdc-agent") else {
            throw BenchFailure("cdc-agent is not built beside cdc-bench; run `swift build -c release` first")
        }
        let m = try inSubdirectory(directory, "memory") {
            try AgentMemoryBench.measure(executable: agent, databaseBytes: databaseBytes, writerAutocheckpointPages: writerAutocheckpointPages, seed: 1, directory: $0)
        }
        print("source database      \(BenchSupport.mebibytes(m.databaseBytes)) (built in \(String(format: "%.1f", m.buildSeconds)) s)")
        print("initial epoch        \(m.epochEvents) events, \(BenchSupport.mebibytes(m.logBytes)) of log, \(String(format: "%.1f", m.epochSeconds)) s; peak RSS so far \(BenchSupport.mebibytes(m.peakAfterEpoch))")
        print("small transactions   \(m.smallTransactions) shop transactions; peak RSS so far \(BenchSupport.mebibytes(m.peakAfterSmall))")
        print("large transaction    \(m.largeTransactionRows) inserts, captured \(String(format: "%.1f", m.largeTransactionSeconds)) s after commit; peak RSS so far \(BenchSupport.mebibytes(m.peakAfterLarge))")
        if m.resyncEpochs > 0 { print("resync epochs        \(m.resyncEpochs) (the agent lost continuity and re-read every table)") }
        print("peak RSS             \(BenchSupport.mebibytes(m.peak)) (VmHWM before SIGTERM), target 64 MiB: \(String(format: "%.2f", Double(m.peak) / Double(64 << 20)))x the target")
        return m.peak > 64 << 20 ? ["agent peak RSS \(BenchSupport.mebibytes(m.peak)) > 64 MiB"] : []
    }

    /// Runs `body` in a new folder under `directory`, removed when it returns, so the disk
    /// holds one measurement's files at a time (the 1 GiB source and its log are large).
    private func inSubdirectory<T>(_ directory: String, _ name: String, _ body: (String) throws -> T) throws -> T {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(atPath: path) } }
        return try body(path)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
