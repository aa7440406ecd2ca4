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
/// Eviction is FIFO with a second chance: a page read since it was inserted goes to the back
/// once, so pages read by every transaction (page 1, roots) stay while a stream of newly
/// written pages passes through.
///
/// Shared by the copies of the ``WALPageMap`` that holds it (every snapshot of the map reads
/// through it); a lock makes that safe from any thread.
///
/// Memory: at most ``capacityInBytes`` of page bytes, plus a few dozen bytes per entry.
final class WALFrameCache: @unchecked Sendable {
    // @unchecked: every stored property below is read and written only under `lock`.

    /// The default budget: 1,024 pages of 4 KiB (enough for the pages that several hundred
    /// small transactions write, which is what one read pass decodes between two waits).
    static let defaultCapacityInBytes = 4 << 20

    /// The most page bytes kept.
    let capacityInBytes: Int

    private struct Slot {
        var page: [UInt8]
        var isReferenced: Bool
    }

    private let lock = NSLock()
    /// The salts of the generation every entry belongs to; `nil` while empty.
    private var generation: (salt1: UInt32, salt2: UInt32)?
    private var slots: [Int: Slot] = [:]
    /// Frame indexes in eviction order from `head` on (entries before `head` are spent).
    private var queue: [Int] = []
    private var head = 0
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
        guard let g = generation, g.salt1 == salt1, g.salt2 == salt2 else { return nil }
        guard let index = slots.index(forKey: frameIndex) else { return nil }
        slots.values[index].isReferenced = true
        return slots.values[index].page
    }

    /// Keeps `page` as the page of frame `frameIndex` of the generation with these salts; a
    /// page of another generation first empties the cache.
    ///
    /// The caller guarantees that `page` is the frame's page as it stands in the file: read
    /// from a frame whose header carries these salts (the reader's verified frames, or a
    /// frame read whose header was checked).
    ///
    /// - Complexity: amortized O(1).
    func insert(_ page: [UInt8], atFrame frameIndex: Int, salt1: UInt32, salt2: UInt32) {
        guard page.count <= capacityInBytes else { return }
        lock.lock()
        defer { lock.unlock() }
        if let g = generation, g.salt1 != salt1 || g.salt2 != salt2 {
            removeAllLocked()
        }
        generation = (salt1, salt2)
        if slots.index(forKey: frameIndex) != nil {
            // Same generation, same frame: the same bytes, already kept.
            return
        }
        while storedBytes + page.count > capacityInBytes, head < queue.count {
            let victim = queue[head]
            head += 1
            guard let index = slots.index(forKey: victim) else { continue }
            if slots.values[index].isReferenced {
                slots.values[index].isReferenced = false
                queue.append(victim)
            } else {
                storedBytes -= slots.values[index].page.count
                slots.remove(at: index)
            }
        }
        if head > 1_024, head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        slots[frameIndex] = Slot(page: page, isReferenced: false)
        queue.append(frameIndex)
        storedBytes += page.count
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

    private func removeAllLocked() {
        slots.removeAll()
        queue.removeAll()
        head = 0
        storedBytes = 0
        generation = nil
    }
}
