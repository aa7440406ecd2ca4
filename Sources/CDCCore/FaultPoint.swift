#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Named places where a test can have the process kill itself with SIGKILL: a testing aid for
/// the fault-injection harness (scripts/soak/kill9.py, docs/operations.md "Fault injection").
///
/// Random-time kills rarely land inside a short window such as a checkpoint under the
/// agent's barrier or between a sink's apply and its commit; a named point does, every time.
/// The environment variable `CDC_FAULT_KILL_AT=<point>[:<n>]` arms one point: the process
/// raises SIGKILL on itself the `n`-th time (default 1) it reaches the point. The variable is
/// read once, at the first call; unset (production), ``reached(_:)`` is one load and one
/// comparison with `nil`. A malformed value (empty name, `n` not a positive integer) arms
/// nothing: a testing aid must never stop a real agent.
///
/// This is the one piece of process control in CDCCore; it lives here because every layer
/// with a point (capture, sinks) depends on this target and on nothing shared below it.
public enum FaultPoint {
    /// In a snapshot epoch (not a resync), after a batch of its events was appended and
    /// before the epoch's last append stores the position; in a requested epoch (served in
    /// chunks between captures), after each chunk (both capture modes).
    public static let snapshotBatch = "snapshot.batch"
    /// The same inside a resync epoch (reason `resync`).
    public static let resyncBatch = "resync.batch"
    /// After a batch that ends inside a source transaction (one larger than a batch) was
    /// appended, before the rest of the transaction's events (both modes).
    public static let transactionBatch = "txn.batch"
    /// WAL mode: the agent has just taken its barrier (the source's write lock), before it
    /// looks at how much is left to read under it.
    public static let barrierHeld = "wal.barrier.held"
    /// WAL mode: under the barrier, after reading and appending the last frames, before the
    /// PASSIVE checkpoint.
    public static let barrierRead = "wal.barrier.read"
    /// WAL mode: under the barrier, right after the checkpoint, before the new pin is taken and
    /// the barrier released.
    public static let barrierCheckpoint = "wal.barrier.checkpoint"
    /// Trigger mode: a batch of change rows was appended to the log; their delete from
    /// `_cdc_changes` (with the consumed position in `_cdc_meta`) has not run.
    public static let changeTableDelete = "changetable.delete"
    /// A sink applied a batch and wrote its offset inside the replica's transaction, which is
    /// not committed yet.
    public static let sinkApply = "sink.apply"
    /// A sink committed a batch and has not acknowledged it to the log.
    public static let sinkCommit = "sink.commit"

    /// Every named point, for usage messages and the harness.
    public static let all = [snapshotBatch, resyncBatch, transactionBatch, barrierHeld, barrierRead, barrierCheckpoint,
                             changeTableDelete, sinkApply, sinkCommit]

    /// The environment variable that arms a point.
    public static let environmentVariable = "CDC_FAULT_KILL_AT"

    /// Call at a named point: raises SIGKILL on this process when the point is armed and this
    /// is its `n`-th arrival; otherwise returns at once.
    /// - Parameter name: one of the names above.
    public static func reached(_ name: String) {
        guard let armed = Self.armed, armed.name == name else { return }
        if armed.counter.increment() == armed.count {
            kill(getpid(), SIGKILL)
        }
    }

    /// Parses `<point>[:<n>]`; `nil` for no value or a malformed one.
    /// - Returns: the point's name and the arrival (1-based) at which to kill.
    public static func parse(_ value: String?) -> (name: String, count: Int)? {
        guard let value, !value.isEmpty else { return nil }
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard !name.isEmpty else { return nil }
        guard parts.count == 2 else { return (name, 1) }
        guard let n = Int(parts[1]), n >= 1 else { return nil }
        return (name, n)
    }

    /// Read once; a `let` so the unarmed check costs nothing after the first call.
    private static let armed: (name: String, count: Int, counter: ArrivalCounter)? =
        parse(ProcessInfo.processInfo.environment[environmentVariable]).map { ($0.name, $0.count, ArrivalCounter()) }
}

/// Counts arrivals at the armed point; points can be reached from several threads (the agent's
/// task group), hence the lock. Used only when a point is armed.
private final class ArrivalCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    /// Adds one arrival and returns the new count.
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
