import CDCCommandLine
import CDCCore
import CDCSinks
import CDCSQLite
import CDCTransport
import Foundation

/// `cdc-sink --log EVENTS.db --replica READ.db [--projection FILE] [--follow] [--batch-size N]
/// [--poll-interval 5ms] [--resnapshot-on-gap] [--from-snapshot]`.
struct SinkCommand {
    static let help = """
        usage: cdc-sink --log EVENTS.db --replica READ.db [--projection FILE] [--follow]
                        [--batch-size N] [--poll-interval 5ms] [--resnapshot-on-gap]
                        [--from-snapshot]

        Applies the change events of an event log (written by `cdc-agent run`) to an SQLite
        read model, idempotently: each batch is one transaction that also stores the sink's
        offset, and events not newer than a row's stored version are skipped.
          --log PATH            the event log to read
          --replica PATH        the read-model database (created when missing; its folder must exist)
          --projection FILE     JSON: which tables and columns to keep, renamed and filtered
                                (docs/projections.md); without it every table and column is kept
          --follow              keep applying events as they arrive, until SIGTERM or SIGINT
          --batch-size N        events per transaction (default 1000)
          --poll-interval D     how often --follow looks for new events (default 5ms)
          --resnapshot-on-gap   when retention removed events the sink still needs, ask the
                                agent for a new snapshot epoch (needs write access to the log)
                                and wait for it, instead of exiting 2
          --from-snapshot       start a NEW replica from a fresh snapshot epoch instead of
                                replaying the log's whole history (the agent must be running;
                                needs write access to the log)
        Without --follow it applies what the log holds and exits 0.
        When it may write to the log, the sink reports its offset there (at most once a
        second), so `cdc-agent status` lists it with its lag; a read-only log is read all
        the same.
        Start the agent first: the sink reads the log the agent creates.
        Schema changes: added, renamed and dropped columns, renamed, new and dropped tables
        are followed in the read model (docs/sinks.md); a change the projection no longer fits
        stops with exit 2 and says what to change in it; a change the sink cannot take (a new
        key, a changed declared type) stops with exit 1. Either way the offset stays before
        the change, so a new run continues there.
        exit status: 0 done, 1 applying failed (e.g. a schema change the sink cannot take;
        the message says what to do), 2 usage or input error (also: the projection no longer
        fits a source schema change)

        example:
          cdc-agent run --db orders.db --log orders-events.db --once
          cdc-sink --log orders-events.db --replica orders-read.db --projection orders-view.json
        """

    var logPath: String
    var replicaPath: String
    var projectionPath: String?
    var follow: Bool
    var batchSize: Int
    var pollIntervalMilliseconds: Int64
    var resnapshotOnGap: Bool
    var fromSnapshot: Bool

    /// Scans the arguments; `nil` after printing `--help`.
    static func parse(_ arguments: [String]) throws -> SinkCommand? {
        var scanner = ArgumentScanner(command: "cdc-sink", arguments: arguments)
        if scanner.wantsHelp() { print(help); return nil }
        let log = try scanner.required("--log")
        let replica = try scanner.required("--replica")
        let projection = try scanner.value("--projection")
        let follow = try scanner.flag("--follow")
        let batch = try scanner.integer("--batch-size", range: 1...1_000_000) ?? 1000
        let poll = try scanner.duration("--poll-interval") ?? 5
        let resnapshot = try scanner.flag("--resnapshot-on-gap")
        let fromSnapshot = try scanner.flag("--from-snapshot")
        try scanner.finish()
        guard poll >= 1, poll <= 60_000 else { throw UsageError("cdc-sink: --poll-interval must be between 1ms and 60s") }
        return SinkCommand(logPath: log, replicaPath: replica, projectionPath: projection, follow: follow,
                           batchSize: Int(batch), pollIntervalMilliseconds: poll, resnapshotOnGap: resnapshot, fromSnapshot: fromSnapshot)
    }

    /// Checks every input before the replica is touched, then applies.
    func run() throws -> ExitCode {
        let logger = Logger.standardError(label: "cdc-sink")
        let projection = try projectionPath.map { try Projection.load(path: $0) } ?? .identity
        guard FileManager.default.fileExists(atPath: logPath) else {
            throw UsageError("\(logPath): no such file; give the path of an event log written by cdc-agent run")
        }
        // Write access lets the sink acknowledge its offset (cdc-agent status lists it) and
        // request snapshots; a log it may only read is read all the same.
        let log = resnapshotOnGap || fromSnapshot
            ? try EventLog(path: logPath)
            : try (try? EventLog(path: logPath)) ?? EventLog(path: logPath, readOnly: true)
        defer { try? log.close() }
        try SQLiteSink.validate(projection, against: log, logger: logger)
        let folder = (replicaPath as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue) else {
            throw UsageError("\(replicaPath): folder \(folder) does not exist; create it or give another --replica path")
        }
        let isNewReplica = !FileManager.default.fileExists(atPath: replicaPath)
        let sink = try SQLiteSink(replicaPath: replicaPath, projection: projection, logger: logger)
        StopSignal.install()
        do {
            try sink.checkLogIdentity(log)
            if fromSnapshot {
                guard try sink.startFromSnapshot(of: log, requester: "cdc-sink \(replicaPath)", pollInterval: .milliseconds(pollIntervalMilliseconds), until: { StopSignal.isRaised }) != nil else {
                    try sink.close()
                    return .success
                }
            }
        } catch {
            try? sink.close()
            if isNewReplica { Self.removeReplica(replicaPath) }
            throw Self.classify(error)
        }
        let gapPolicy: GapPolicy = resnapshotOnGap ? .requestSnapshot(requester: "cdc-sink \(replicaPath)") : .fail
        let interval = Duration.milliseconds(pollIntervalMilliseconds)
        do {
            if follow {
                try sink.follow(log, batchSize: batchSize, gapPolicy: gapPolicy, pollInterval: interval) { StopSignal.isRaised }
            } else {
                let count = try sink.sync(from: log, batchSize: batchSize, gapPolicy: gapPolicy, pollInterval: interval) { StopSignal.isRaised }
                let progress = try sink.progress
                let age = progress.lagSeconds().map { String(format: " (newest applied event %.1f s old)", $0) } ?? ""
                logger.info("applied \(count) event(s); replica at LSN \(progress.appliedLSN)\(age)")
            }
        } catch {
            let appliedNothing = ((try? sink.appliedLSN) ?? .zero) == .zero
            try? sink.close()
            if isNewReplica, appliedNothing { Self.removeReplica(replicaPath) }
            throw Self.classify(error)
        }
        try sink.close()
        return .success
    }

    /// Input errors (the log, the projection, the replica's identity, a projection that a
    /// source schema change made outdated) exit 2; failures of the work itself (a write SQLite
    /// refused, a schema change the sink cannot take) exit 1.
    static func classify(_ error: Error) -> Error {
        switch error {
        case is EventLogError, is ProjectionError, is UsageError:
            return error
        case let e as SinkError:
            switch e {
            case .sourceMismatch, .corruptMetadata, .reservedTableName, .noAddressableKey, .logReplaced, .replicaNotEmpty, .notAReplica,
                 .projectionOutdated: return e
            case .applyFailed, .unsupportedSchemaChange, .snapshotEpochPruned: return SinkFailure(underlying: e)
            }
        default:
            return SinkFailure(underlying: error)
        }
    }

    /// Removes a replica this run created but never committed a batch to, so a failed
    /// first run leaves no file behind.
    static func removeReplica(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}

/// A failure of applying events (exit 1), as opposed to bad input (exit 2).
struct SinkFailure: WorkFailure, CustomStringConvertible {
    var underlying: Error
    var description: String { String(describing: underlying) }
}
