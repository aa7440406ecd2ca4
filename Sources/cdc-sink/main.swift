import CDCCommandLine

// cdc-sink: wiring only (argument scanning, object construction, exit codes); the work
// lives in CDCSinks.

runCommand("cdc-sink") {
    try SinkCommand.parse(Array(CommandLine.arguments.dropFirst()))?.run() ?? .success
}
