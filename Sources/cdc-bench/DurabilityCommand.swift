import CDCCommandLine
import CDCSQLite
import Foundation

/// `cdc-bench durability`: recovery after a kill, and the price of an fsync per source
/// transaction (issue 4; docs/benchmarks.md, "Durability").
struct DurabilityCommand {
    static let usage = """
        usage: cdc-bench durability [--parts recovery,fsync] [--source-mib N[,N…]] [--modes wal,triggers]
                                    [--writer-rows N] [--writer-autocheckpoint PAGES]
                                    [--rows N] [--batch-sizes B[,B…]]

        Each figure against a baseline run in the same invocation:
          recovery  a source of each --source-mib size (default 64,1024); the agent (a child process)
                    runs its initial epoch, follows a writer inserting --writer-rows customers
                    (default 100000, 100 per transaction), is killed (SIGKILL) once it has a
                    quarter, the writer commits the rest, and the restart is timed until the
                    log holds every insert. Baselines: reading the source file once, and
                    PRAGMA quick_check; and the largest source's recovery against the
                    smallest's (does it depend on the size?). --writer-autocheckpoint (default 0) is the writer's
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
    var sourceSizesMiB: [Int]
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
        sourceSizesMiB = try (scanner.list("--source-mib") ?? ["64", "1024"]).map {
            guard let n = Int($0), (1...65_536).contains(n) else { throw UsageError("cdc-bench durability: --source-mib takes sizes in MiB from 1 to 65536, got \($0)") }
            return n
        }.sorted()
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
        print("source   | mode     | epoch s | epoch events | captured at kill | backlog | recovery s | events after restart | resyncs | read once s | quick_check s | ÷ read once | ÷ quick_check")
        print("-------: | -------- | ------: | -----------: | ---------------: | ------: | ---------: | -------------------: | ------: | ----------: | ------------: | ----------: | ------------:")
        var recovery: [String: [(mib: Int, seconds: Double, perEvent: Double, read: Double)]] = [:]
        for mib in sourceSizesMiB {
            // One source at a time on disk: the 1 GiB one and its logs take several GiB.
            let folder = directory + "/recovery-\(mib)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(atPath: folder) } }
            let sourcePath = folder + "/source.db"
            try AgentMemoryBench.buildSource(at: sourcePath, bytes: Int64(mib) << 20, seed: 1)
            let size = BenchSupport.fileSize(sourcePath)
            let readSeconds = try RecoveryBench.readOnceSeconds(sourcePath)
            let checkSeconds = try RecoveryBench.quickCheckSeconds(sourcePath)
            for mode in modes {
                if mode == "triggers" {
                    let install = try ChildProcess(executable: agent, arguments: ["install", "--db", sourcePath], outputPath: folder + "/install.out")
                    guard install.wait().status == 0 else { throw BenchFailure("cdc-agent install failed: \(ReplicationCPUBench.tail(folder + "/install.out"))") }
                }
                let m = try RecoveryBench.measure(executable: agent, sourcePath: sourcePath, mode: mode, writerRows: writerRows,
                                                  writerAutocheckpointPages: writerAutocheckpointPages, directory: folder)
                // This mode's log is not needed any more; the next mode writes its own.
                for suffix in ["", "-wal", "-shm"] { unlink(folder + "/recovery-\(mode)-events.db" + suffix) }
                recovery[mode, default: []].append((mib, m.recoverySeconds, m.recoverySeconds / Double(max(1, m.recoveredEvents)), readSeconds))
                print(String(format: "%@ | %@ | %7.1f | %12lld | %16lld | %7lld | %10.3f | %20lld | %7d | %11.3f | %13.3f | %10.2fx | %12.2fx",
                             BenchSupport.mebibytes(size).leftPadded(8) as NSString, mode.padding(toLength: 8, withPad: " ", startingAt: 0) as NSString,
                             m.epochSeconds, m.epochEvents, m.capturedAtKill, Int64(m.writerRows) - m.capturedAtKill, m.recoverySeconds,
                             m.recoveredEvents, m.resyncEpochs, readSeconds, checkSeconds, m.recoverySeconds / readSeconds, m.recoverySeconds / checkSeconds))
            }
        }
        for mode in modes {
            guard let runs = recovery[mode], runs.count > 1, let small = runs.first, let large = runs.last else { continue }
            // The backlog depends on when the kill landed, so compare seconds per backlog event too.
            print(String(format: "%@: recovery at %d MiB ÷ at %d MiB = %.2fx, per backlog event %.2fx (reading the source once: %.2fx)",
                         mode, large.mib, small.mib, large.seconds / small.seconds, large.perEvent / small.perEvent, large.read / small.read))
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

private extension String {
    /// The string right-aligned in `width` characters.
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
