import Foundation

/// A product executable running in the background for a test (for example `cdc-agent run`
/// as a daemon), stopped with SIGTERM by ``stop()`` or, as a safety net, in `deinit`.
public final class Daemon {
    private let process = Process()

    /// Starts `Products.executable(name)` with `arguments`; its standard error is discarded.
    /// - Throws: when the program cannot be started.
    public init(_ name: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: Products.executable(name))
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// Whether the program is still running (it has not exited on its own).
    public var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM and waits for the exit.
    /// - Returns: the exit status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { stop() } }
}
