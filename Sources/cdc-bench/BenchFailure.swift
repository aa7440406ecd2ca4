import CDCCommandLine

/// A benchmark run that could not measure what it set out to (exit status 1): a component
/// failed, produced the wrong number of events, or did not catch up.
struct BenchFailure: Error, WorkFailure, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
