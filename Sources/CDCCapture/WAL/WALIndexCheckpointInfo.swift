import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The checkpoint progress SQLite publishes in the wal-index (the `-shm` file).
///
/// WAL capture reads an old page version from the database file when no WAL frame at or
/// before the old snapshot holds the page. That is right only while no checkpoint has
/// copied a newer frame of the page into the file, i.e. while `nBackfill` (the last frame
/// backfilled) is at or below the old snapshot's commit frame. The agent checks it after
/// reading and before appending, so a read that a checkpoint raced is never emitted.
///
/// Layout: the wal-index header is two copies of a 48-byte `WalIndexHdr`, followed by
/// `WalCkptInfo`, whose first field `nBackfill` is a 32-bit integer in the host's byte order
/// at byte 96. Source: SQLite, "WAL-mode File Format" §2.1 The WAL-Index Header
/// (https://www.sqlite.org/walformat.html#the_wal_index_header_format).
public struct WALIndexCheckpointInfo: Hashable, Sendable {
    /// Frames `1...backfilledFrames` of the current WAL have been copied into the database file.
    public var backfilledFrames: UInt32
}

/// The `-shm` file, opened once and kept open for the life of the capture.
///
/// It must never be opened and closed again while this process has SQLite connections to the
/// database: POSIX advisory locks belong to the process, and closing *any* descriptor of a
/// file releases *all* of the process's locks on it (fcntl(2), "Advisory record locking"), so
/// a stray close would silently drop the read-mark locks of the agent's pins, and SQLite
/// would then restart the WAL under the agent. (The first stress run found exactly that.)
/// SQLite's own descriptors are safe; ours is the one that must stay open.
final class WALIndexFile {
    private let descriptor: Int32

    /// Opens `<databasePath>-shm` read-only; `nil` when it does not exist.
    init?(databasePath: String) {
        let fd = open(databasePath + "-shm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// The last committed frame SQLite's wal-index knows (`mxFrame`, a 32-bit integer in the
    /// host's byte order at byte 16 of the first header copy) and the WAL salts it belongs to
    /// (the 8 bytes at byte 32, copied from the WAL header's bytes 16–23). Source: "WAL-mode
    /// File Format" §2.1 (https://www.sqlite.org/walformat.html).
    func lastCommittedFrame() -> (frame: UInt32, salts: [UInt8])? {
        var header = [UInt8](repeating: 0, count: 48)
        let n = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 48, 0) }
        guard n == 48 else { return nil }
        let frame = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self) }
        return (frame, Array(header[32..<40]))
    }

    /// The checkpoint progress now, or `nil` when the file is shorter than the header.
    func checkpointInfo() -> WALIndexCheckpointInfo? {
        var value: UInt32 = 0
        let n = withUnsafeMutableBytes(of: &value) { pread(descriptor, $0.baseAddress, 4, 96) }
        guard n == 4 else { return nil }
        return WALIndexCheckpointInfo(backfilledFrames: value)
    }
}
