import CDCSQLite
import Foundation

/// What the figures were measured on: cores, CPU model, memory, SQLite's version.
enum BenchMachine {
    /// One line, printed at the top of every benchmark's output.
    static func description() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory = String(format: "%.0f GiB", Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30))
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), \(memory), SQLite \(sqliteVersion())"
    }
}
