import Foundation

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

    /// Reads the `-shm` file beside `databasePath`.
    /// - Returns: `nil` when the file is missing or shorter than the header (no WAL in use).
    public static func read(databasePath: String) -> WALIndexCheckpointInfo? {
        guard let handle = FileHandle(forReadingAtPath: databasePath + "-shm") else { return nil }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: 96)) != nil,
              let data = try? handle.read(upToCount: 4), data.count == 4 else { return nil }
        let value = data.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        return WALIndexCheckpointInfo(backfilledFrames: value)
    }
}
