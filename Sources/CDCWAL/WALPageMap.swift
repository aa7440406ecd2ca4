/// For each page number, the committed WAL frames that hold it, to find the newest frame of a
/// page at or before a given commit.
///
/// Add transactions in commit order as ``WALReader`` returns them. Memory: one entry per
/// committed frame (a capture layer can drop entries once a checkpoint backfilled them).
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

    /// Makes an empty map (every page comes from the database file).
    public init() {}

    /// Makes a map of `transactions`, in commit order.
    public init(_ transactions: [CommittedTransaction]) {
        for t in transactions { add(t) }
    }

    /// Adds the next committed transaction (its frames must follow every frame added before).
    ///
    /// - Complexity: O(frames in the transaction).
    public mutating func add(_ transaction: CommittedTransaction) {
        for frame in transaction.frames {
            framesByPage[frame.pageNumber, default: []].append(frame)
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
