/// For each page number, the committed WAL frames that hold it, to find the newest frame of a
/// page at or before a given commit.
///
/// Add transactions in commit order as ``WALReader`` returns them. Memory: one entry per
/// committed frame (a capture layer can drop entries once a checkpoint backfilled them), plus
/// a cache of the newest frames' pages (``WALFrameCache``, 4 MiB at most) that the map's
/// snapshots (``WALSnapshotPageSource``) read through. Make a new map for each WAL
/// generation: frame indexes restart at 0.
///
/// Source: SQLite, "Database File Format" §4.5 Reader Algorithm: a reader uses, for each page,
/// the last valid frame at or before its snapshot's last commit frame, else the database file
/// (https://www.sqlite.org/fileformat2.html#walread).
public struct WALPageMap: Sendable {
    /// A commit known to the map.
    public struct Commit: Hashable, Sendable {
        /// The 0-based index of the commit frame.
        public var frameIndex: Int
        /// The database size in pages after the commit.
        public var databaseSizeInPages: UInt32
    }

    private var framesByPage: [UInt32: [WALFrame]] = [:]
    /// The commits added, oldest first.
    public private(set) var commits: [Commit] = []
    /// Pages of recent frames, shared by every copy of this map (so by every snapshot made
    /// from it): the reader's verified pages and the pages snapshots read.
    let frameCache: WALFrameCache

    /// Makes an empty map (every page comes from the database file).
    public init() {
        frameCache = WALFrameCache()
    }

    /// Makes an empty map whose frame cache keeps at most `frameCacheCapacityInBytes` bytes of
    /// pages (0: none).
    public init(frameCacheCapacityInBytes: Int) {
        frameCache = WALFrameCache(capacityInBytes: frameCacheCapacityInBytes)
    }

    /// Makes a map of `transactions`, in commit order.
    public init(_ transactions: [CommittedTransaction]) {
        self.init()
        for t in transactions { add(t) }
    }

    /// Adds the next committed transaction (its frames must follow every frame added before).
    /// The pages the reader kept of its frames (``CommittedTransaction/pageImages``) go to the
    /// frame cache, so snapshots do not read them from the file again.
    ///
    /// - Complexity: O(frames in the transaction).
    public mutating func add(_ transaction: CommittedTransaction) {
        for frame in transaction.frames {
            framesByPage[frame.pageNumber, default: []].append(frame)
        }
        if let images = transaction.pageImages, images.pages.count == transaction.frames.count {
            for (frame, page) in zip(transaction.frames, images.pages) where !page.isEmpty {
                frameCache.insert(page, atFrame: frame.frameIndex, salt1: images.salt1, salt2: images.salt2)
            }
        }
        commits.append(Commit(frameIndex: transaction.commitFrameIndex, databaseSizeInPages: transaction.databaseSizeInPages))
    }

    /// The newest frame holding `pageNumber` at or before the commit frame `commitFrameIndex`.
    ///
    /// - Returns: the frame, or `nil` when the page must be read from the database file.
    /// - Complexity: O(log n) in the frames of that page.
    public func frame(forPage pageNumber: UInt32, atOrBeforeFrame commitFrameIndex: Int) -> WALFrame? {
        guard let frames = framesByPage[pageNumber] else { return nil }
        var low = 0, high = frames.count // first frame with index > commitFrameIndex
        while low < high {
            let mid = (low + high) / 2
            if frames[mid].frameIndex <= commitFrameIndex { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : frames[low - 1]
    }

    /// The page numbers written by any committed frame, unordered.
    public var pageNumbers: Dictionary<UInt32, [WALFrame]>.Keys { framesByPage.keys }
}
