import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process the benchmark starts and measures: its CPU time and peak memory come from the
/// kernel's accounting of exactly this child (`wait4`), not from the machine's clock.
///
/// Started with `posix_spawn` rather than Foundation's `Process`, whose reaper would collect the
/// child's exit (and its resource usage) before `wait4` could.
final class ChildProcess {
    /// What the kernel counted for the child when it ended.
    struct Usage {
        /// Exit status (or 128 + signal number when a signal ended it).
        var status: Int32
        /// CPU seconds in user mode plus in the kernel, all threads.
        var cpuSeconds: Double
        /// Peak resident set size in bytes: the child's `VmHWM` read while it still ran (the
        /// last reading), else `ru_maxrss`. (`ru_maxrss` can report the parent's size: glibc's
        /// posix_spawn runs the child in the parent's memory until exec, and the kernel keeps
        /// that high-water mark.)
        var peakResidentBytes: Int64
    }

    let pid: pid_t
    let executable: String
    private var usage: Usage?
    /// The highest `VmHWM` read while the child ran.
    private var highWater: Int64?

    /// Starts `executable` with `arguments`, its standard output and error appended to `outputPath`.
    /// - Throws: ``BenchFailure`` when the process cannot be started.
    init(executable: String, arguments: [String], outputPath: String) throws {
        self.executable = executable
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchFailure("cannot start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// Whether the child has not exited yet (without reaping it).
    var isRunning: Bool {
        // An exited child stays a zombie ("Z") until it is reaped.
        usage == nil && statusField("State:").map { !$0.hasPrefix("Z") } ?? false
    }

    /// The peak resident set size so far (`VmHWM` in /proc/PID/status), in bytes; `nil` once
    /// the process is gone.
    func peakResidentBytesSoFar() -> Int64? {
        guard let field = statusField("VmHWM:"), let kib = Int64(field.split(separator: " ").first ?? "") else { return nil }
        highWater = max(highWater ?? 0, kib * 1024)
        return kib * 1024
    }

    /// Sends SIGTERM (the agent and litestream both finish their work in hand and exit),
    /// reading the child's peak RSS first.
    func terminate() {
        _ = peakResidentBytesSoFar()
        _ = kill(pid, SIGTERM)
    }

    /// Waits for the child to exit and returns what it used.
    /// - Parameter timeoutSeconds: after this long it is killed (SIGKILL) and waited for.
    func wait(timeoutSeconds: Double = 120) -> Usage {
        if let usage { return usage }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var status: Int32 = 0
        var ru = rusage()
        while true {
            let r = wait4(pid, &status, WNOHANG, &ru)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline { _ = kill(pid, SIGKILL); _ = wait4(pid, &status, 0, &ru); break }
            usleep(20_000)
        }
        let cpu = Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6 + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
        // The low 7 bits hold the signal that ended it, else the exit code is in the next byte.
        let signal = status & 0x7f
        let code = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        let u = Usage(status: code, cpuSeconds: cpu, peakResidentBytes: highWater ?? Int64(ru.ru_maxrss) * 1024)
        usage = u
        return u
    }

    private func statusField(_ name: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
        return line.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
    }
}
