import CDCCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one-agent-per-source lock: an exclusive `flock(2)` on `<database>-cdc-agent.lock`
/// (the database's real path, symlinks resolved) and on a lock named after the file's device
/// and inode in the temporary folder (for hard links), held for as long as the capture is open.
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
    /// A second lock named after the database file's device and inode, in the system's
    /// temporary folder: two hard links (or bind mounts) of one file share it.
    private var inodeDescriptor: Int32 = -1

    /// Takes the lock for a source database.
    /// - Parameter sourcePath: the database path as given (a `file:` URI is reduced to its path).
    /// - Throws: ``CaptureError/anotherAgentRunning`` when another open capture holds it,
    ///   ``CaptureError/lockUnavailable`` when the file cannot be created.
    init(sourcePath: String) throws {
        var path = sourcePath
        if path.hasPrefix("file:") { path = String(path.dropFirst(5).prefix { $0 != "?" }) }
        // Named after the real path, so a symlink or another spelling of the path finds the
        // same lock.
        path = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        lockPath = path + "-cdc-agent.lock"
        descriptor = try Self.lock(lockPath, sourcePath: sourcePath)
        var info = stat()
        if stat(path, &info) == 0 {
            let inodeLock = NSTemporaryDirectory() + "cdc-agent-\(info.st_dev)-\(info.st_ino).lock"
            do {
                inodeDescriptor = try Self.lock(inodeLock, sourcePath: sourcePath)
            } catch {
                release()
                throw error
            }
        }
    }

    /// Opens, locks and stamps one lock file.
    private static func lock(_ lockPath: String, sourcePath: String) throws -> Int32 {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CaptureError.lockUnavailable(lockPath: lockPath, reason: String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let owner = (try? String(contentsOfFile: lockPath, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            close(fd)
            throw CaptureError.anotherAgentRunning(path: sourcePath, lockPath: lockPath, pid: owner)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return fd
    }

    /// Releases the lock (the file stays, empty of meaning, for the next agent).
    func release() {
        for fd in [inodeDescriptor, descriptor] where fd >= 0 {
            flock(fd, LOCK_UN)
            close(fd)
        }
        inodeDescriptor = -1
        descriptor = -1
    }

    deinit { release() }
}
