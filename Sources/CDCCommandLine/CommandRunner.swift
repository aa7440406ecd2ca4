import Foundation

/// Exit codes shared by every executable (STYLE.md habit 9).
public enum ExitCode: Int32, Sendable {
    /// Done; for replica-check: consistent.
    case success = 0
    /// The work failed or, for replica-check, the replica diverged.
    case failure = 1
    /// Bad usage or bad input (path, file, config, credentials).
    case usage = 2
}

/// A usage mistake: the message is printed as is, and the exit code is 2.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ message: String) { description = message }
}

/// An error that means the work itself failed (exit 1) rather than its input (exit 2).
public protocol WorkFailure: Error {}

/// Runs a command body, prints any error as one line on standard error, and exits.
///
/// Errors that conform to ``WorkFailure`` exit 1; every other error is bad input or usage and
/// exits 2 (DESIGN.md promise 6).
public func runCommand(_ name: String, _ body: () throws -> ExitCode) -> Never {
    do {
        let code = try body()
        exit(code.rawValue)
    } catch let error as WorkFailure {
        printError(prefixed(name, oneLine(error)))
        exit(ExitCode.failure.rawValue)
    } catch {
        printError(prefixed(name, oneLine(error)))
        exit(ExitCode.usage.rawValue)
    }
}

/// Runs an async command body; as ``runCommand(_:_:)``.
public func runAsyncCommand(_ name: String, _ body: @escaping @Sendable () async throws -> ExitCode) -> Never {
    let box = ResultBox()
    let semaphore = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        semaphore.signal()
    }
    semaphore.wait()
    runCommand(name) { try box.result?.get() ?? .failure }
}

private final class ResultBox: @unchecked Sendable {
    var result: Result<ExitCode, Error>?
}

/// `name: message`, unless the message already starts with the command's name (usage errors
/// from ``ArgumentScanner`` do).
private func prefixed(_ name: String, _ message: String) -> String {
    message.hasPrefix(name + ":") || message.hasPrefix(name + " ") ? message : "\(name): \(message)"
}

private func oneLine(_ error: Error) -> String {
    String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
}

/// Writes one line to standard error.
public func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
