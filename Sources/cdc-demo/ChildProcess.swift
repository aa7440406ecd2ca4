import CDCCommandLine
import Foundation

/// A child process of the demo: started at once, stopped with SIGTERM (the clean-shutdown
/// path a service manager uses), its output sent to a log file or kept.
final class ChildProcess {
    private let process = Process()
    private let outputPipe: Pipe?
    private var collected = Data()

    init(_ path: String, _ arguments: [String], logFile: String? = nil, captureOutput: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw UsageError("cdc-demo: \(path) is missing; build all products first (swift build -c release)")
        }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
            process.standardOutput = handle
            process.standardError = handle
            outputPipe = nil
        } else if captureOutput {
            let pipe = Pipe()
            process.standardOutput = pipe
            outputPipe = pipe
        } else {
            outputPipe = nil
        }
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// The exit status, waiting for the process to end.
    var exitStatus: Int32 {
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// What the process wrote to standard output (when captured), after it ended.
    var output: String {
        process.waitUntilExit()
        if let pipe = outputPipe, collected.isEmpty { collected = pipe.fileHandleForReading.readDataToEndOfFile() }
        return String(decoding: collected, as: UTF8.self)
    }

    /// Sends SIGTERM and waits up to 10 s, then SIGKILL.
    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs a command to completion and returns its status and output.
    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, standardOutput: String, standardError: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
