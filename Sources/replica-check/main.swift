import CDCCommandLine
import CDCReconcile
import CDCSinks

/// `replica-check`: compares a source with its read model and reports differences and lag.
/// Exit 0 consistent, 1 diverged, 2 usage or input error (one line on standard error).

let usage = """
    usage: replica-check --source DB --replica DB [--projection FILE] [--log EVENTS.db]
                         [--json] [--max-keys N] [--source-name NAME]

    Compares every captured table of the source with its read model in the replica, through
    the projection, by key, exactly (value and storage class). Prints the missing, extra and
    differing rows per table with their first keys (never other values), the source LSN (from
    the event log), the replica's applied LSN and the lag.

      --source DB          the service database (opened read-only)
      --replica DB         the read model cdc-sink writes (opened read-only)
      --projection FILE    the projection file cdc-sink uses (default: every table, every column)
      --log EVENTS.db      the event log, for the source LSN (default: unknown)
      --json               print one JSON object instead of the summary
      --max-keys N         sample keys per table and kind, 0...1000 (default 5)
      --source-name NAME   this source's row in _cdc_sink_offset (default: the source file
                           name without extension, or the only row)

    exit status: 0 consistent, 1 diverged, 2 usage or input error
    """

runCommand("replica-check") {
    var arguments = ArgumentScanner(command: "replica-check", arguments: Array(CommandLine.arguments.dropFirst()))
    if arguments.wantsHelp() {
        print(usage)
        return .success
    }
    let sourcePath = try arguments.required("--source")
    let replicaPath = try arguments.required("--replica")
    let projectionPath = try arguments.value("--projection")
    let logPath = try arguments.value("--log")
    let json = try arguments.flag("--json")
    let maximumKeys = try arguments.integer("--max-keys", range: 0...1000) ?? 5
    let sourceName = try arguments.value("--source-name")
    try arguments.finish()

    let projection = try projectionPath.map { try Projection.load(path: $0) } ?? .identity
    let checker = ReplicaChecker(sourcePath: sourcePath, replicaPath: replicaPath, projection: projection,
                                 logPath: logPath, maximumSampleKeys: Int(maximumKeys), sourceName: sourceName)
    let report = try checker.run()
    print(report.render(json: json))
    return report.isConsistent ? .success : .failure
}
