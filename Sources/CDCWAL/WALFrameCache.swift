import Foundation

/// The page bytes of recently read WAL frames, by frame index, for one WAL generation, up to a
/// byte budget.
///
/// Capture reads every frame twice and many frames more often: the ``WALReader`` reads each
/// frame to verify its checksum, then the new snapshot reads the same page again, and the
/// next transaction's old snapshot reads it once more (a page written by consecutive
/// transactions, or a root or interior page read by every transaction). Keeping the newest
/// frames' pages turns those re-reads into lookups.
///
/// A frame index names different bytes in different generations: after a restart SQLite
/// writes the new generation's frames over the old ones, from frame 0 (file format §4.4). So
/// every entry belongs to the generation named by the WAL header's salts, and a lookup or an
/// insert with other salts misses, or empties the cache before the insert. Within one
/// generation a committed frame is never rewritten (SQLite only appends after the last commit).
///
/// The cache is direct-mapped: frame f has one slot, f modulo the number of slots, and the
/// last frame inserted there takes it. Frames mostly arrive in order (the reader's), so this
/// keeps about the newest ``capacityInBytes`` of frames, with no hashing, no eviction queue
/// and no allocation per entry beyond the page itself. A page read by every transaction (page
/// 1, a root) whose frame is older is kept when read, until the stream of new frames reaches
/// its slot again: one file read per slot count of frames.
///
/// Shared by the copies of the ``WALPageMap`` that holds it (every snapshot of the map reads
/// through it); a lock makes that safe from any thread.
///
/// Memory: at most ``capacityInBytes`` of page bytes, plus 16 bytes a slot.
final class WALFrameCache: @unchecked Sendable {
    // @unchecked: every stored property below is read and written only under `lock`.

    /// The default budget: 1,024 pages of 4 KiB (the pages several hundred small
    /// transactions write, which is what one read pass decodes between two waits).
    static let defaultCapacityInBytes = 4 << 20

    /// The most page bytes kept.
    let capacityInBytes: Int

    private struct Slot {
        /// The frame whose page this is; -1 when empty.
        var frameIndex = -1
        var page: [UInt8] = []
    }

    private let lock = NSLock()
    /// The salts of the generation every entry belongs to; `nil` while empty.
    private var generation: (salt1: UInt32, salt2: UInt32)?
    /// Sized on the first insert, from the page size: `capacityInBytes / page size` slots.
    private var slots: [Slot] = []
    private var storedBytes = 0
    /// The database file (and page size) whose header a snapshot of this generation already
    /// checked against the WAL's page size; weak, so the check ends with the file object.
    private weak var checkedDatabaseFile: AnyObject?
    private var checkedPageSize = 0

    /// Makes an empty cache keeping at most `capacityInBytes` bytes of pages.
    init(capacityInBytes: Int = WALFrameCache.defaultCapacityInBytes) {
        self.capacityInBytes = max(0, capacityInBytes)
    }

    /// The page of frame `frameIndex` of the generation with these salts, if kept.
    func page(atFrame frameIndex: Int, salt1: UInt32, salt2: UInt32) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        guard let g = generation, g.salt1 == salt1, g.salt2 == salt2, !slots.isEmpty, frameIndex >= 0 else { return nil }
        let i = frameIndex % slots.count
        return slots[i].frameIndex == frameIndex ? slots[i].page : nil
    }

    /// Keeps `page` as the page of frame `frameIndex` of the generation with these salts, in
    /// place of the frame in its slot if that one is older; a page of another generation
    /// first empties the cache.
    ///
    /// The caller guarantees that `page` is the frame's page as it stands in the file: read
    /// from a frame whose header carries these salts (the reader's verified frames, or a
    /// frame read whose header was checked).
    ///
    /// - Complexity: O(1), except O(slots) when the generation changes.
    func insert(_ page: [UInt8], atFrame frameIndex: Int, salt1: UInt32, salt2: UInt32) {
        guard frameIndex >= 0, !page.isEmpty, page.count <= capacityInBytes else { return }
        lock.lock()
        defer { lock.unlock() }
        if let g = generation, g.salt1 != salt1 || g.salt2 != salt2 {
            slots = []
            storedBytes = 0
        }
        generation = (salt1, salt2)
        if slots.isEmpty { slots = [Slot](repeating: Slot(), count: max(1, capacityInBytes / page.count)) }
        let i = frameIndex % slots.count
        // The last insert wins the slot, whatever the frames' ages: an old frame read again (a
        // root) displaces a frame that arrived about a slot count of frames ago, likely cold.
        guard slots[i].frameIndex != frameIndex else { return }
        // A page of another size (never within one generation) must not break the budget.
        guard storedBytes - slots[i].page.count + page.count <= capacityInBytes else { return }
        storedBytes += page.count - slots[i].page.count
        slots[i] = Slot(frameIndex: frameIndex, page: page)
    }

    /// The bytes of pages kept.
    var byteCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return storedBytes
    }

    /// Whether a snapshot of this generation already found `file`'s header page size equal
    /// to `pageSize` (file objects only: a value has no identity to remember).
    func hasCheckedPageSize(of file: AnyObject, pageSize: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return checkedDatabaseFile === file && checkedPageSize == pageSize
    }

    /// Records that `file`'s header page size equals `pageSize`.
    ///
    /// The page size of a database in WAL mode cannot change (SQLite changes it only by a
    /// VACUUM outside WAL mode, and leaving WAL mode checkpoints and deletes the WAL, which
    /// ends the generation), so one check per generation and file stands for every snapshot.
    func setCheckedPageSize(of file: AnyObject, pageSize: Int) {
        lock.lock()
        defer { lock.unlock() }
        checkedDatabaseFile = file
        checkedPageSize = pageSize
    }
}
