import CDCCommandLine

// cdc-bench: speed targets as ratios against a baseline run in the same invocation
// (docs/benchmarks.md). Not a test: `swift run -c release cdc-bench [--rows N] …`, and
// `cdc-bench wal …` for WAL capture, `cdc-bench writer-wait` for how long writers wait on the agent,
// `cdc-bench durability` for recovery after a kill and the cost of an fsync per transaction.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "wal" {
    runCommand("cdc-bench wal") { try WALBenchCommand(arguments: Array(arguments.dropFirst())).run() }
} else if arguments.first == "durability" {
    runCommand("cdc-bench durability") { try DurabilityCommand(arguments: Array(arguments.dropFirst())).run() }
} else if arguments.first == "writer-wait" {
    runCommand("cdc-bench writer-wait") { try WriterWaitCommand(arguments: Array(arguments.dropFirst())).run() }
} else {
    runCommand("cdc-bench") { try BenchCommand(arguments: arguments).run() }
}
