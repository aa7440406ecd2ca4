import CDCCommandLine
import Foundation

/// `cdc-bench writer-wait`: the longest time the service's writers waited for the write lock
/// because of the agent, against the same writer without an agent (``WriterWaitBench``).
struct WriterWaitCommand {
    static let usage = """
        usage: cdc-bench writer-wait [--seconds S] [--writers N] [--modes wal,triggers]

        A writer (N threads, default 1) commits small transactions for S seconds (default 20)
        against a source in WAL mode, as a service would (busy timeout 5 s, SQLite's default
        busy handler and autocheckpoint); each BEGIN IMMEDIATE is timed. It runs once without
        an agent and once with `cdc-agent run` in each mode, and reports the time to get the
        write lock (p50, p99, p99.9, max) and of the small transactions.
        Target (promise 5, docs/wal-capture-protocol.md "Bound the barrier"): with the agent,
        no wait longer than \(Int(WriterWaitCommand.boundMilliseconds)) ms beyond the longest wait of the same writer
        without it.
        Needs cdc-agent built beside cdc-bench: swift build -c release
        """

    /// The documented bound on what the agent adds to a writer's wait for the lock.
    static let boundMilliseconds = 50.0

    var seconds: Double
    var writers: Int
    var modes: [WriterWaitBench.Mode]

    init(arguments: [String]) throws {
        var scanner = ArgumentScanner(command: "cdc-bench writer-wait", arguments: arguments)
        if scanner.wantsHelp() { print(Self.usage); exit(0) }
        seconds = Double(try scanner.integer("--seconds", range: 1...3_600) ?? 20)
        writers = Int(try scanner.integer("--writers", range: 1...64) ?? 1)
        modes = try (scanner.list("--modes") ?? WriterWaitBench.Mode.allCases.map(\.rawValue)).map {
            guard let m = WriterWaitBench.Mode(rawValue: $0) else { throw UsageError("cdc-bench writer-wait: --modes takes wal and triggers, not \($0)") }
            return m
        }
        try scanner.finish()
    }

    func run() throws -> ExitCode {
        guard let agent = BenchSupport.siblingExecutable("cdc-agent") else {
            throw BenchFailure("cdc-agent is not built beside cdc-bench: run swift build -c release first")
        }
        print("cdc-bench writer-wait: \(writers) writer(s), \(Int(seconds)) s a run; \(BenchMachine.description())")
        let directory = try BenchSupport.makeTemporaryDirectory("cdc-bench-writer-wait")
        defer { if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(atPath: directory) } }
        print("mode     | agent | txns  | lock wait p50 | p99      | p99.9    | max      | small txn p99.9 | small txn max")
        print("-------- | ----- | ----: | ------------: | -------: | -------: | -------: | --------------: | ------------:")
        var missed: [String] = []
        for mode in modes {
            var runs: [Bool: WriterWaitBench.Measurement] = [:]
            for withAgent in [false, true] {
                let sub = directory + "/\(mode.rawValue)-\(withAgent ? "agent" : "base")"
                try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
                let m = try WriterWaitBench.measure(mode: mode, executable: withAgent ? agent : nil, seconds: seconds, writers: writers, directory: sub)
                runs[withAgent] = m
                let label = mode.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + " | " + (withAgent ? "yes" : "no ") + "  "
                print(String(format: "%@ | %5d | %10.3f ms | %5.2f ms | %5.2f ms | %5.1f ms | %12.2f ms | %10.1f ms",
                             label as NSString, m.transactions,
                             m.percentile(0.5, of: m.lockWaits), m.percentile(0.99, of: m.lockWaits), m.percentile(0.999, of: m.lockWaits),
                             m.lockWaits.last ?? 0, m.percentile(0.999, of: m.transactionTimes), m.transactionTimes.last ?? 0))
            }
            guard let base = runs[false], let with = runs[true] else { continue }
            guard writers == 1 else {
                print("\(mode.rawValue): with \(writers) writers their waits for each other dominate; the bound is checked with one writer")
                continue
            }
            let added = (with.lockWaits.last ?? 0) - (base.lockWaits.last ?? 0)
            print(String(format: "%@: the agent added at most %.1f ms to a writer's longest wait for the lock (bound %.0f ms: %.2fx of it)",
                         mode.rawValue as NSString, max(0, added), Self.boundMilliseconds, max(0, added) / Self.boundMilliseconds))
            if added > Self.boundMilliseconds { missed.append("\(mode.rawValue): \(String(format: "%.1f", added)) ms > \(Int(Self.boundMilliseconds)) ms") }
        }
        print(missed.isEmpty ? "bound held" : "bound exceeded: " + missed.joined(separator: "; "))
        return .success
    }
}
