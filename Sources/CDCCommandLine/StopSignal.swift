import Foundation

/// SIGTERM/SIGINT as a flag a daemon checks between batches, so it finishes the batch in hand
/// (the agent: appended and deleted; the sink: one transaction, offset included), closes its
/// connections and exits 0: the clean shutdown a service manager asks for.
public enum StopSignal {
    private static let flag = StopFlag()
    private static var sources: [DispatchSourceSignal] = []
    private static let queue = DispatchQueue(label: "cdc.stop-signals")

    /// Whether a stop signal arrived.
    public static var isRaised: Bool { flag.isRaised }

    /// Routes SIGTERM and SIGINT to the flag (the default handlers are ignored).
    public static func install() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { flag.raise() }
            source.resume()
            sources.append(source)
        }
    }
}

/// A Boolean set from the signal queue and read from the main thread.
private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false

    var isRaised: Bool { lock.lock(); defer { lock.unlock() }; return raised }
    func raise() { lock.lock(); raised = true; lock.unlock() }
}
