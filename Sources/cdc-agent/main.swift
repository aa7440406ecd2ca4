import CDCCommandLine
import Foundation

// cdc-agent: wiring only (argument scanning, object construction, exit codes); the work
// lives in CDCCapture.

let usage = """
    usage: cdc-agent <command> [options]

    commands:
      install    create the change table and triggers in a source database
      uninstall  remove everything install added
      run        capture changes into an event log (daemon, or --once)
      status     print the source's, the log's and the sinks' positions and lag
      resnapshot ask the running agent for snapshot events of tables or keys

    `cdc-agent <command> --help` shows the command's options.
    """

var arguments = Array(CommandLine.arguments.dropFirst())
let subcommand = arguments.isEmpty ? nil : arguments.removeFirst()

runCommand("cdc-agent") {
    switch subcommand {
    case "install": return try InstallCommand.parse(arguments)?.run() ?? .success
    case "uninstall": return try UninstallCommand.parse(arguments)?.run() ?? .success
    case "run": return try RunCommand.parse(arguments)?.run() ?? .success
    case "status": return try StatusCommand.parse(arguments)?.run() ?? .success
    case "resnapshot": return try ResnapshotCommand.parse(arguments)?.run() ?? .success
    case "--help", "-h", "help":
        print(usage)
        return .success
    case nil:
        throw UsageError("missing command; see cdc-agent --help")
    case let other?:
        throw UsageError("unknown command \(other); see cdc-agent --help")
    }
}
