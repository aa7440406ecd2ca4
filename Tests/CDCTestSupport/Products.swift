import Foundation
import XCTest

/// Runs the package's real executables from tests (STYLE.md habit 9: tests run the binaries).
public enum Products {
    /// The folder holding the built executables: the one that holds the test bundle.
    public static var binDirectory: URL {
        #if os(macOS)
        return Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL.deletingLastPathComponent()
            ?? Bundle.main.bundleURL
        #else
        return Bundle.main.bundleURL
        #endif
    }

    /// The path of executable `name` (for example `cdc-agent`).
    public static func executable(_ name: String) -> String {
        binDirectory.appendingPathComponent(name).path
    }

    /// The repository's `fixtures/` folder.
    public static var fixturesDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures")
    }

    /// The repository's root folder.
    public static var repositoryRoot: URL { fixturesDirectory.deletingLastPathComponent() }
}

/// What a finished process printed and returned.
public struct ProcessOutput {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

/// Runs a program to completion, with a deadline.
///
/// - Parameters:
///   - path: the executable (absolute, or found on PATH through /usr/bin/env).
///   - arguments: its arguments.
///   - environment: extra environment variables.
///   - timeoutSeconds: the process is killed (SIGKILL) after this long and the test fails.
/// - Throws: when the program cannot be started.
@discardableResult
public func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:], timeoutSeconds: Double = 120,
                       file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
    let process = Process()
    if path.hasPrefix("/") {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [path] + arguments
    }
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
    let group = DispatchGroup()
    let outData = DataBox(), errData = DataBox()
    DispatchQueue.global().async(group: group) { outData.data = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        XCTFail("\(path) \(arguments.joined(separator: " ")) did not finish in \(timeoutSeconds) s", file: file, line: line)
    }
    process.waitUntilExit()
    group.wait()
    return ProcessOutput(status: process.terminationStatus,
                         standardOutput: String(decoding: outData.data, as: UTF8.self),
                         standardError: String(decoding: errData.data, as: UTF8.self))
}

/// Written by one reader thread, read after `DispatchGroup.wait()`, which orders the two.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
