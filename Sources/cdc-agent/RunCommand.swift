import CDCCapture
import CDCCommandLine
import CDCCore
import CDCTransport
import Foundation

/// `cdc-agent run --db PATH --log EVENTS.db [--mode wal|triggers] [--service NAME] [--once] …`.
struct RunCommand {
    static let help = """
        usage: cdc-agent run --db PATH --log EVENTS.db [--mode wal|triggers] [--service NAME]
                             [--once] [--batch-size N] [--poll-interval 10ms]
                             [--retain-age 7d] [--retain-size SIZE] [--busy-timeout 5s]
                             [--linger 5ms] [--heartbeat-interval 10s]
                             [--metrics-file PATH] [--metrics-interval 15s]

        Captures every committed row change of the source (which must be in WAL mode) into
        the event log. The first run, and any run after a loss of continuity, emits a
        snapshot epoch of every captured table first.
          --mode wal          decode the source's -wal file: no triggers, no change to the
                              service (the default unless the triggers are installed)
          --mode triggers     read the change table the triggers fill (`cdc-agent install`
                              first; the default when they are installed)
          --service NAME      service name in events (default: the file name without extension)
          --once              capture everything committed so far, then exit
          --batch-size N      change rows per batch (default 5000)
          --poll-interval D   how often the daemon checks for commits (default 10ms)
          --retain-age D      remove events older than D from the log (default 7d; 0 keeps all)
          --retain-size SIZE  keep at most SIZE of events (e.g. 500MB; default no limit)
          --busy-timeout D    how long to wait for the service's write lock before a busy
                              error (default 5s; the daemon then retries with back-off)
          --linger D          WAL mode: after an append, let commits gather this long before
                              capturing again (group commit; default 5ms, 0 disables). A
                              commit after a quiet spell is captured at once.
          --heartbeat-interval D  append a heartbeat event after D without any append, so
                              sinks can measure their lag in seconds while the source is
                              idle (default 10s; 0 disables; never with --once)
          --metrics-file PATH write the status (cdc-agent status) as a Prometheus text file
                              for node_exporter's textfile collector, replaced atomically
                              (its folder must exist; daemon only)
          --metrics-interval D  how often the metrics file is rewritten (default 15s)
        A sink whose offset falls behind what retention removed stops with a clear error, or
        with --resnapshot-on-gap asks this agent for a new snapshot epoch.
        Without --once it runs until SIGTERM or SIGINT, finishes the batch in hand and exits 0.
        When the event log cannot be written (its disk is full, a quota or `ulimit -f` is
        reached, or it is read-only) it stops with exit 1 and one line saying what to free;
        nothing of the failed batch is consumed, and a restart resumes (docs/operations.md).
        """

    var databasePath: String
    var logPath: String
    var mode: CaptureMode?
    var service: String?
    var once: Bool
    var batchSize: Int
    var pollIntervalMilliseconds: Int
    var retention: RetentionPolicy
    var busyTimeoutMilliseconds: Int32
    var lingerMilliseconds: Int
    var heartbeatIntervalMilliseconds: Int64
    var metricsFilePath: String?
    var metricsIntervalMilliseconds: Int64

    static func parse(_ arguments: [String]) throws -> RunCommand? {
        var scanner = ArgumentScanner(command: "cdc-agent run", arguments: arguments)
        if scanner.wantsHelp() { print(help); return nil }
        let db = try scanner.required("--db")
        let log = try scanner.required("--log")
        let modeText = try scanner.value("--mode")
        let service = try scanner.value("--service")
        let once = try scanner.flag("--once")
        let batch = try scanner.integer("--batch-size", range: 1...1_000_000) ?? 5000
        let poll = try scanner.duration("--poll-interval") ?? 10
        let age = try scanner.duration("--retain-age") ?? RetentionPolicy.default.maximumAgeMilliseconds
        let size = try scanner.size("--retain-size")
        let busy = try scanner.duration("--busy-timeout") ?? 5000
        let linger = try scanner.duration("--linger") ?? Int64(WALCapture.Options().lingerMilliseconds)
        let heartbeat = try scanner.duration("--heartbeat-interval") ?? DaemonOptions.defaultHeartbeatIntervalMilliseconds
        let metricsFile = try scanner.value("--metrics-file")
        let metricsInterval = try scanner.duration("--metrics-interval") ?? DaemonOptions.defaultMetricsIntervalMilliseconds
        try scanner.finish()
        guard heartbeat == 0 || (100...86_400_000).contains(heartbeat) else {
            throw UsageError("cdc-agent run: --heartbeat-interval must be 0 (off) or between 100ms and 1d")
        }
        guard (1_000...86_400_000).contains(metricsInterval) else { throw UsageError("cdc-agent run: --metrics-interval must be between 1s and 1d") }
        if let metricsFile {
            guard !once else { throw UsageError("cdc-agent run: --metrics-file is for the daemon; drop --once, or run cdc-agent status") }
            let folder = (metricsFile as NSString).deletingLastPathComponent
            var isFolder: ObjCBool = false
            guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue) else {
                throw UsageError("\(metricsFile): folder \(folder) does not exist; create it or give another --metrics-file path")
            }
        }
        guard linger <= 1_000 else { throw UsageError("cdc-agent run: --linger must be at most 1s") }
        guard busy <= 3_600_000 else { throw UsageError("cdc-agent run: --busy-timeout must be at most 1h") }
        if let size, size < 4096 { throw UsageError("cdc-agent run: --retain-size must be at least 4KB") }
        let retention = RetentionPolicy(maximumAgeMilliseconds: age == 0 ? nil : age, maximumBytes: size)
        guard poll >= 1, poll <= 60_000 else { throw UsageError("cdc-agent run: --poll-interval must be between 1ms and 60s") }
        if let service, service.isEmpty { throw UsageError("cdc-agent run: --service must not be empty") }
        var mode: CaptureMode?
        if let modeText {
            guard let m = CaptureMode(rawValue: modeText) else { throw UsageError("cdc-agent run: --mode must be wal or triggers, not \(modeText)") }
            mode = m
        }
        return RunCommand(databasePath: db, logPath: log, mode: mode, service: service, once: once, batchSize: Int(batch), pollIntervalMilliseconds: Int(poll), retention: retention, busyTimeoutMilliseconds: Int32(busy), lingerMilliseconds: Int(linger),
                          heartbeatIntervalMilliseconds: heartbeat, metricsFilePath: metricsFile, metricsIntervalMilliseconds: metricsInterval)
    }

    func run() throws -> ExitCode {
        do {
            return try capture()
        } catch let error as EventLogError where error.isStorageFailure {
            // The run failed rather than its input: exit 1, and the line says what to free.
            throw AgentRunFailure(error)
        }
    }

    private func capture() throws -> ExitCode {
        let logger = Logger.standardError(label: "cdc-agent")
        guard databasePath.hasPrefix("file:") || FileManager.default.fileExists(atPath: databasePath) else {
            throw UsageError("\(databasePath): no such file; give the path of the service's SQLite database")
        }
        let mode = try self.mode ?? (ChangeTableCapture.isInstalled(sourcePath: databasePath) ? .triggers : .wal)
        let capture: any AgentCapture
        let log: EventLog
        switch mode {
        case .triggers:
            try ChangeTableCapture.preflight(sourcePath: databasePath)
            log = try EventLog(path: logPath, create: true)
            capture = try ChangeTableCapture(sourcePath: databasePath, log: log, service: service, logger: logger, batchSize: batchSize,
                                             busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        case .wal:
            try WALCapture.preflight(sourcePath: databasePath)
            log = try EventLog(path: logPath, create: true)
            var options = WALCapture.Options()
            options.batchSize = batchSize
            options.busyTimeoutMilliseconds = busyTimeoutMilliseconds
            options.lingerMilliseconds = lingerMilliseconds
            capture = try WALCapture(sourcePath: databasePath, log: log, service: service, logger: logger, options: options)
        }
        if once {
            let (n, removed) = try capture.captureOnce(retention: retention)
            if removed > 0 { logger.info("\(logPath): retention removed \(removed) event(s)") }
            logger.info("\(databasePath): captured \(n) event(s) into \(logPath) (\(mode.rawValue) mode)")
        } else {
            StopSignal.install()
            logger.info("\(databasePath): capturing (\(mode.rawValue) mode) into \(logPath) (polling every \(pollIntervalMilliseconds) ms; SIGTERM or SIGINT stops)")
            let options = DaemonOptions(pollIntervalMilliseconds: pollIntervalMilliseconds, retention: retention,
                                        heartbeatIntervalMilliseconds: heartbeatIntervalMilliseconds,
                                        metricsFilePath: metricsFilePath, metricsIntervalMilliseconds: metricsIntervalMilliseconds)
            try capture.run(until: { StopSignal.isRaised }, options: options)
        }
        try capture.close()
        try log.close()
        return .success
    }
}
