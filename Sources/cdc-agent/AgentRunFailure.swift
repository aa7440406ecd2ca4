import CDCCommandLine

/// An error that ends `cdc-agent run` because the work failed, not its input (exit 1): the
/// event log's disk is full or the log is read-only. Its description is the cause's line.
struct AgentRunFailure: WorkFailure, CustomStringConvertible {
    let cause: Error
    init(_ cause: Error) { self.cause = cause }
    var description: String { String(describing: cause) }
}
