import CDCCommandLine

// cdc-bench: speed targets as ratios against a baseline run in the same invocation
// (docs/benchmarks.md). Not a test: `swift run -c release cdc-bench [--rows N] …`, and
// `cdc-bench wal …` for WAL capture.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "wal" {
    runCommand("cdc-bench wal") { try WALBenchCommand(arguments: Array(arguments.dropFirst())).run() }
} else {
    runCommand("cdc-bench") { try BenchCommand(arguments: arguments).run() }
}
