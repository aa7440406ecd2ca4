import CDCCommandLine
import CDCCore
import CDCReconcile
import CDCSQLite
import CDCWorkload
import Foundation

/// Runs agent, sink and replica-check as real processes on a sample service that another
/// process keeps writing to, and prints a one-screen summary.
struct DemoCommand {
    var seconds: Int64
    var rate: Int64
    var directory: String?
    /// `triggers` (install the change-table capture) or `wal` (decode the WAL, install nothing).
    var mode: String

    static let usage = """
        usage: cdc-demo [--seconds N] [--rate TPS] [--dir PATH] [--mode triggers|wal]

        Creates a sample shop database (customers, orders, order lines) in WAL mode, installs
        the change-table capture (or, with --mode wal, nothing: the agent decodes the WAL),
        starts cdc-agent and cdc-sink --follow as processes, drives
        a writer process for N seconds (default 10) at about TPS transactions per second
        (default 500), waits for the read model to catch up, runs replica-check, and prints
        a summary. Files stay in --dir (default: a new folder under /tmp).
        """

    init(arguments: [String]) throws {
        var scanner = ArgumentScanner(command: "cdc-demo", arguments: arguments)
        if scanner.wantsHelp() { print(Self.usage); exit(0) }
        seconds = try scanner.integer("--seconds", range: 1...3600) ?? 10
        rate = try scanner.integer("--rate", range: 1...100_000) ?? 500
        directory = try scanner.value("--dir")
        mode = try scanner.value("--mode") ?? "triggers"
        try scanner.finish()
        guard ["triggers", "wal"].contains(mode) else { throw UsageError("cdc-demo: --mode must be triggers or wal, not \(mode)") }
    }

    func run() throws -> ExitCode {
        let dir = try directory ?? makeDemoDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let shop = dir + "/shop.db", log = dir + "/events.db", replica = dir + "/read-model.db"
        for f in [shop, log, replica] {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: f + suffix) }
        }
        let bin = Self.binDirectory()
        say("cdc-demo: files in \(dir)")

        // 1. A service with data already in it, so the agent's first run takes a snapshot.
        try SampleShop.create(at: shop)
        let seedWriter = try ShopWriter(path: shop, seed: 7)
        try seedWriter.bulkInsertCustomers(500, perTransaction: 100)
        for _ in 0..<300 { try seedWriter.step() }
        say("service: sample shop created with \(seedWriter.counts.rowChanges) rows written")

        // 2. Install capture (change-table mode), start agent and sink.
        if mode == "triggers" {
            let install = try ChildProcess.run(bin + "/cdc-agent", ["install", "--db", shop])
            guard install.status == 0 else { throw DemoFailure("cdc-agent install failed: \(install.standardError)") }
        }
        say("agent: \(mode == "wal" ? "WAL mode (no triggers, nothing installed)" : "change-table mode (triggers installed)")")
        let agent = try ChildProcess(bin + "/cdc-agent", ["run", "--db", shop, "--log", log, "--mode", mode], logFile: dir + "/agent.log")
        defer { agent.terminate() }
        // The sink reads a log the agent creates; start it once the log holds events.
        let logDeadline = Date().addingTimeInterval(30)
        while (try? EventStats.lastLSN(logPath: log)) == nil {
            guard agent.isRunning, Date() < logDeadline else { throw DemoFailure("the agent did not start its log; see \(dir)/agent.log") }
            usleep(5_000)
        }
        let sink = try ChildProcess(bin + "/cdc-sink", ["--log", log, "--replica", replica, "--follow"], logFile: dir + "/sink.log")
        defer { sink.terminate() }

        // 3. The service's writer, in its own process.
        say("writer: \(rate) transactions/s for \(seconds) s …")
        let writer = try ChildProcess(bin + "/cdc-demo", ["writer", "--db", shop, "--seconds", String(seconds), "--seed", "42", "--rate", String(rate)], captureOutput: true)
        let lag = LagSampler(logPath: log, replicaPath: replica)
        let started = Date()
        while writer.isRunning {
            lag.sample()
            usleep(5_000)
            guard agent.isRunning, sink.isRunning else { throw DemoFailure("agent or sink stopped early; see \(dir)/agent.log and \(dir)/sink.log") }
        }
        let writerSeconds = Date().timeIntervalSince(started)
        guard writer.exitStatus == 0 else { throw DemoFailure("the writer failed: \(writer.output)") }

        // 4. Wait for the read model to catch up, then stop agent and sink cleanly.
        let caughtUp = try waitUntilCaughtUp(shop: shop, log: log, replica: replica, lag: lag, timeoutSeconds: 60)
        let catchUpSeconds = Date().timeIntervalSince(started) - writerSeconds
        agent.terminate()
        sink.terminate()
        guard agent.exitStatus == 0, sink.exitStatus == 0 else {
            throw DemoFailure("agent exited \(agent.exitStatus), sink exited \(sink.exitStatus) on SIGTERM; see \(dir)/*.log")
        }

        // 5. Prove it.
        let check = try ChildProcess.run(bin + "/replica-check", ["--source", shop, "--replica", replica, "--log", log])
        let stats = try EventStats(logPath: log)
        let written = writer.output.trimmingCharacters(in: .whitespacesAndNewlines)
        say("")
        say("──────────────────────────── cdc-demo summary ────────────────────────────")
        say("writer           \(written)")
        say("events captured  \(stats.changes) row changes in \(stats.transactions) event groups, \(stats.snapshotRows) snapshot rows, last LSN \(stats.lastLSN)")
        say(mode == "wal"
            ? "                 (a group is one source transaction's net effect: docs/wal-capture.md)"
            : "                 (a group holds the whole source transactions one capture read found: docs/change-table-capture.md)")
        say(String(format: "capture rate     %.0f row-change events/s while the writer ran %.1f s; caught up %.2f s after it stopped",
                   Double(stats.changes) / max(writerSeconds, 0.001), writerSeconds, catchUpSeconds))
        say(lag.summary())
        say("read model       \(caughtUp ? "caught up" : "DID NOT catch up within 60 s")")
        say("replica-check    exit \(check.status)")
        for line in check.standardOutput.split(separator: "\n") { say("  " + line) }
        say("──────────────────────────────────────────────────────────────────────────")
        say(check.status == 0 ? "consistent: the read model equals its source" : "NOT consistent: see above and \(dir)")
        return check.status == 0 && caughtUp ? .success : .failure
    }

    private func say(_ line: String) { print(line); fflush(stdout) }

    private func makeDemoDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "cdc-demo-" + String(UUID().uuidString.prefix(8)).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The folder of this executable, where SwiftPM puts its siblings.
    static func binDirectory() -> String {
        let exe = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return exe.resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    /// Waits until no change is pending in the source (change-table mode: no row left in
    /// `_cdc_changes`; WAL mode: the log has not grown for 300 ms) and the sink has applied
    /// the log's last LSN.
    private func waitUntilCaughtUp(shop: String, log: String, replica: String, lag: LagSampler, timeoutSeconds: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var lastSeen: (lsn: Int64, since: Date)?
        while Date() < deadline {
            lag.sample()
            let last = try EventStats.lastLSN(logPath: log)
            let agentDone: Bool
            if mode == "wal" {
                if lastSeen?.lsn != last { lastSeen = (last ?? 0, Date()) }
                agentDone = Date().timeIntervalSince(lastSeen?.since ?? Date()) >= 0.3
            } else {
                let source = try Connection(path: shop, mode: .readOnly)
                agentDone = ((try? ReplicaChecker.pendingChangeCount(source)) ?? nil) == 0
            }
            if agentDone, let applied = lag.appliedLSN(), let last, applied >= last { return true }
            usleep(10_000)
        }
        return false
    }
}

struct DemoFailure: Error, WorkFailure, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
