import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Waits until the source's `-wal` (or the database file) may have changed.
///
/// On Linux it watches the database's folder with inotify for writes, creations, deletions
/// and renames of the database, its `-wal` and its `-shm` files, so a commit wakes the agent
/// at once instead of at the next poll (SQLite appends a commit's frames to the `-wal` with
/// write(2), which raises IN_MODIFY). The folder is watched rather than the `-wal` itself
/// because SQLite deletes and recreates the `-wal` (on the last close, on TRUNCATE). Where
/// inotify is unavailable (another OS, or the per-user watch limit reached) it falls back to
/// sleeping for the poll interval; callers check the file's stamp either way, so a missed
/// or spurious wake-up costs at most one poll interval, never a change.
/// Source: inotify(7).
final class WALChangeWaiter {
    private var descriptor: Int32 = -1
    private let names: Set<String>
    /// Whether inotify is in use (`false`: plain polling).
    private(set) var isWatching = false

    /// - Parameter databasePath: the source database; its folder is watched.
    init(databasePath: String) {
        let url = URL(fileURLWithPath: databasePath)
        let base = url.lastPathComponent
        names = [base, base + "-wal", base + "-shm"]
        #if os(Linux)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return }
        let mask = UInt32(IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE)
        guard inotify_add_watch(fd, url.deletingLastPathComponent().path, mask) >= 0 else { close(fd); return }
        descriptor = fd
        isWatching = true
        #endif
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Returns when one of the source's files changed, or after `timeoutMilliseconds`.
    /// - Returns: whether a change of one of the source's files was seen (`false` on timeout
    ///   or when polling).
    @discardableResult
    func wait(timeoutMilliseconds: Int) -> Bool {
        guard isWatching else {
            usleep(useconds_t(max(1, timeoutMilliseconds)) * 1000)
            return false
        }
        var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeoutMilliseconds)) > 0 else { return false }
        return drain()
    }

    /// Reads every pending event; true when one names a file of the source.
    private func drain() -> Bool {
        var relevant = false
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            var offset = 0
            let headerSize = MemoryLayout<inotify_event>.size
            while offset + headerSize <= n {
                let (length, name) = buffer.withUnsafeBytes { raw -> (Int, String) in
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    let len = Int(event.len)
                    guard len > 0, offset + headerSize + len <= n else { return (len, "") }
                    let bytes = raw[(offset + headerSize)..<(offset + headerSize + len)].prefix { $0 != 0 }
                    return (len, String(decoding: bytes, as: UTF8.self))
                }
                if names.contains(name) { relevant = true }
                offset += headerSize + length
            }
        }
        return relevant
    }
}
