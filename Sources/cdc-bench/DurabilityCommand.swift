import CDCCommandLine
import CDCSQLite
import Foundation

/// `cdc-bench durability`: recovery after a kill, and the price of an fsync per source
/// transaction (issue 4; docs/benchmarks.md, "Durability").
struct DurabilityCommand {
    static let usage = """
        usage: cdc-bench durability [--parts recovery,fsync] [--source-mib N] [--modes wal,triggers]
                                    [--writer-rows N] [--writer-autocheckpoint PAGES]
                                    [--rows N] [--batch-sizes B[,B…]]

        Each figure against a baseline run in the same invocation:
          recovery  a source of --source-mib MiB (default 1024); the agent (a child process)
                    runs its initial epoch, follows a writer inserting --writer-rows customers
                    (default 100000, 100 per transaction), is killed (SIGKILL) once it has a
                    quarter, the writer commits the rest, and the restart is timed until the
                    log holds every insert. Baselines: reading the source file once, and
                    PRAGMA quick_check. --writer-autocheckpoint (default 0) is the writer's
                    wal_autocheckpoint: 1000 lets it checkpoint while no agent runs, which in
                    WAL mode turns the restart into a resync epoch
          fsync     --rows single-row transactions (default 20000) captured by
                    `cdc-agent run --once --batch-size B` for each B of --batch-sizes
                    (default 1,100,5000): events/s, against B = 1 (one durable append, one
                    fsync of the log, per source transaction)
        Needs cdc-agent built beside cdc-bench: swift build -c release
        KEEP=1 in the environment keeps the temporary files.
        """

    enum Part: String, CaseIterable { case recovery, fsync }

    var parts: [Part]
    var sourceBytes: Int64
    var modes: [String]
    var writerRows: Int
    var writerAutocheckpointPages: Int
    var rows: Int
    var batchSizes: [Int]

    init(arguments: [String]) throws {
        var scanner = ArgumentScanner(command: "cdc-bench durability", arguments: arguments)
        if scanner.wantsHelp() { print(Self.usage); exit(0) }
        parts = try (scanner.list("--parts") ?? Part.allCases.map(\.rawValue)).map {
            guard let p = Part(rawValue: $0) else { throw UsageError("cdc-bench durability: --parts takes recovery and fsync, not \($0)") }
            return p
        }
        sourceBytes = Int64(try scanner.integer("--source-mib", range: 1...65_536) ?? 1_024) << 20
        modes = try scanner.list("--modes") ?? ["wal", "triggers"]
        for m in modes where m != "wal" && m != "triggers" { throw UsageError("cdc-bench durability: --modes takes wal and triggers, not \(m)") }
        writerRows = Int(try scanner.integer("--writer-rows", range: 400...100_000_000) ?? 100_000)
        writerAutocheckpointPages = Int(try scanner.integer("--writer-autocheckpoint", range: 0...1_000_000) ?? 0)
        rows = Int(try scanner.integer("--rows", range: 100...100_000_000) ?? 20_000)
        batchSizes = try (scanner.list("--batch-sizes") ?? ["1", "100", "5000"]).map {
            guard let b = Int($0), (1...1_000_000).contains(b) else { throw UsageError("cdc-bench durability: --batch-sizes takes integers from 1 to 1000000, got \($0)") }
            return b
        }
        try scanner.finish()
        if !batchSizes.contains(1) { batchSizes.insert(1, at: 0) }  // the baseline
    }

    func run() throws -> ExitCode {
        print("cdc-bench durability; \(BenchMachine.description())")
        guard let agent = BenchSupport.siblingExecutable("cdc-agent") else {
            throw BenchFailure("cdc-agent is not built beside cdc-bench; run `swift build -c release` first")
        }
        let directory = try BenchSupport.makeTemporaryDirectory("cdc-bench-durability")
        defer { if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(atPath: directory) } }
        if parts.contains(.recovery) { try runRecovery(agent, directory) }
        if parts.contains(.fsync) { try runFsync(agent, directory) }
        return .success
    }

    private func runRecovery(_ agent: String, _ directory: String) throws {
        print("\n1. recovery: restart after SIGKILL to caught up, \(writerRows) inserts (100/txn) written around the kill, writer wal_autocheckpoint=\(writerAutocheckpointPages)")
        let sourcePath = directory + "/recovery-source.db"
        let buildSeconds = try BenchSupport.seconds { try AgentMemoryBench.buildSource(at: sourcePath, bytes: sourceBytes, seed: 1) }
        let size = BenchSupport.fileSize(sourcePath)
        let readSeconds = try RecoveryBench.readOnceSeconds(sourcePath)
        let checkSeconds = try RecoveryBench.quickCheckSeconds(sourcePath)
        print(String(format: "source %@ (built in %.1f s); baselines: read once %.3f s (%.0f MiB/s, page cache warm), PRAGMA quick_check %.3f s",
                     BenchSupport.mebibytes(size), buildSeconds, readSeconds, Double(size) / 1_048_576 / readSeconds, checkSeconds))
        print("mode     | epoch s | epoch events | captured at kill | backlog | recovery s | events after restart | resyncs | ÷ read once | ÷ quick_check")
        print("-------- | ------: | -----------: | ---------------: | ------: | ---------: | -------------------: | ------: | ----------: | ------------:")
        for mode in modes {
            if mode == "triggers" {
                let install = try ChildProcess(executable: agent, arguments: ["install", "--db", sourcePath], outputPath: directory + "/install.out")
                guard install.wait().status == 0 else { throw BenchFailure("cdc-agent install failed: \(ReplicationCPUBench.tail(directory + "/install.out"))") }
            }
            let m = try RecoveryBench.measure(executable: agent, sourcePath: sourcePath, mode: mode, writerRows: writerRows,
                                              writerAutocheckpointPages: writerAutocheckpointPages, directory: directory)
            // The log of this mode is not needed any more; the next mode writes its own.
            for suffix in ["", "-wal", "-shm"] { unlink(directory + "/recovery-\(mode)-events.db" + suffix) }
            print(String(format: "%@ | %7.1f | %12lld | %16lld | %7lld | %10.3f | %20lld | %7d | %10.2fx | %12.2fx",
                         mode.padding(toLength: 8, withPad: " ", startingAt: 0) as NSString, m.epochSeconds, m.epochEvents, m.capturedAtKill, Int64(m.writerRows) - m.capturedAtKill, m.recoverySeconds,
                         m.recoveredEvents, m.resyncEpochs, m.recoverySeconds / readSeconds, m.recoverySeconds / checkSeconds))
        }
    }

    private func runFsync(_ agent: String, _ directory: String) throws {
        print("\n2. fsync: \(rows) single-row transactions captured by cdc-agent run --once --batch-size B, against B = 1 (an fsync per source transaction)")
        print("mode     | batch size | appends ≈ | seconds | events/s | ÷ batch 1")
        print("-------- | ---------: | --------: | ------: | -------: | --------:")
        for mode in modes {
            var baseline: Double?
            for b in batchSizes {
                let path = directory + "/fsync-\(mode)-\(b)"
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                defer { if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(atPath: path) } }
                let m = try AppendDurabilityBench.measure(executable: agent, mode: mode, batchSize: b, rows: rows, directory: path)
                if b == 1 { baseline = m.eventsPerSecond }
                print(String(format: "%@ | %10d | %9d | %7.3f | %8.0f | %8.2fx", mode.padding(toLength: 8, withPad: " ", startingAt: 0) as NSString, b, (rows + b - 1) / b, m.seconds, m.eventsPerSecond,
                             m.eventsPerSecond / (baseline ?? m.eventsPerSecond)))
            }
        }
    }
}
