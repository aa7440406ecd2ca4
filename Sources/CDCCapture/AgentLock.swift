import CDCCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one-agent-per-source lock: an exclusive `flock(2)` on `<database>-cdc-agent.lock`,
/// held for as long as the capture is open.
///
/// Two agents on one source would each read and delete part of the change table, splitting
/// the changes between two logs (or racing LSNs in one). The lock is advisory and separate
/// from SQLite's own POSIX locks on the database file (a separate file, so closing it can
/// never drop SQLite's locks). The kernel releases it when the process ends, also on SIGKILL,
/// so a crashed agent never leaves a stale lock. The file holds the owner's pid, for the
/// error message only.
final class AgentLock {
    let lockPath: String
    private var descriptor: Int32

    /// Takes the lock for a source database.
    /// - Parameter sourcePath: the database path as given (a `file:` URI is reduced to its path).
    /// - Throws: ``CaptureError/anotherAgentRunning`` when another open capture holds it,
    ///   ``CaptureError/lockUnavailable`` when the file cannot be created.
    init(sourcePath: String) throws {
        var path = sourcePath
        if path.hasPrefix("file:") { path = String(path.dropFirst(5).prefix { $0 != "?" }) }
        lockPath = path + "-cdc-agent.lock"
        descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CaptureError.lockUnavailable(lockPath: lockPath, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let owner = (try? String(contentsOfFile: lockPath, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            close(descriptor)
            descriptor = -1
            throw CaptureError.anotherAgentRunning(path: sourcePath, lockPath: lockPath, pid: owner)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock (the file stays, empty of meaning, for the next agent).
    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
