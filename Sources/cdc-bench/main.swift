import CDCCommandLine

// cdc-bench: speed targets as ratios against a baseline run in the same invocation
// (docs/benchmarks.md). Not a test: `swift run -c release cdc-bench [--rows N] …`.
runCommand("cdc-bench") { try BenchCommand(arguments: Array(CommandLine.arguments.dropFirst())).run() }
