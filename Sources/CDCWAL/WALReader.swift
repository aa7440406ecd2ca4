/// Where a WAL reader has got to: just after the last committed transaction it returned.
///
/// Save it to resume when the file grows. It names the WAL generation (the header, with its
/// salts and checkpoint sequence) so a reset WAL is noticed rather than misread.
///
/// Source: SQLite, "Database File Format" §4.1 (cumulative checksums) and §4.4 WAL Reset
/// (https://www.sqlite.org/fileformat2.html#walformat).
public struct WALPosition: Hashable, Sendable {
    /// The WAL header of the generation being read.
    public var header: WALHeader
    /// The number of frames read so far, all committed: the 0-based index of the next frame.
    public var frameIndex: Int
    /// The running checksum after frame `frameIndex - 1` (the header checksum at frame 0).
    public var checksum: WALChecksum

    /// The file offset in bytes of the next frame.
    public var byteOffset: Int { header.offset(ofFrame: frameIndex) }

    /// The position before the first frame of the WAL with `header`.
    public init(header: WALHeader) {
        self.header = header
        frameIndex = 0
        checksum = header.checksum
    }
}

/// One valid frame of a committed transaction.
public struct WALFrame: Hashable, Sendable {
    /// The 1-based database page the frame holds.
    public var pageNumber: UInt32
    /// The 0-based index of the frame in the WAL.
    public var frameIndex: Int
    /// The file offset in bytes of the frame header; the page follows 24 bytes later.
    public var offset: Int
}

/// A transaction whose commit frame verified: its frames, in WAL order.
public struct CommittedTransaction: Hashable, Sendable {
    /// Every frame of the transaction in WAL order, the commit frame last. A page may appear
    /// more than once; the later frame wins.
    public var frames: [WALFrame]
    /// The 0-based index of the commit frame.
    public var commitFrameIndex: Int { frames.last?.frameIndex ?? -1 }
    /// The database size in pages after this commit (the commit frame's field).
    public var databaseSizeInPages: UInt32
    /// The cumulative checksum after the commit frame (verified: it equals the one stored in
    /// the commit frame's header), where a reader resumes after this transaction.
    public var checksumAfterCommit: WALChecksum = .zero
}

/// Why reading stopped after the returned transactions.
public enum WALEnd: Hashable, Sendable {
    /// Every byte up to the end of the data was read (there may be valid but uncommitted
    /// frames: see ``WALReadResult/uncommittedFrameCount``).
    case endOfData
    /// The data ends inside frame `frameIndex` (at file offset `offset`): a torn or
    /// still-being-written frame.
    case partialFrame(frameIndex: Int, offset: Int)
    /// Frame `frameIndex`'s salts differ from the header's: a frame of an older generation.
    case saltMismatch(frameIndex: Int, offset: Int)
    /// Frame `frameIndex`'s cumulative checksum does not verify.
    case checksumMismatch(frameIndex: Int, offset: Int)
    /// Frame `frameIndex` names page 0, which no valid frame does.
    case invalidPageNumber(frameIndex: Int, offset: Int)
    /// The WAL header no longer equals the position's: the WAL was reset or replaced.
    case headerChanged
    /// The caller's transaction limit was reached; more may follow.
    case transactionLimit
}

/// What one read returned.
public struct WALReadResult: Hashable, Sendable {
    /// The committed transactions, oldest first.
    public var transactions: [CommittedTransaction]
    /// Valid frames read after the last commit that belong to no committed transaction (yet).
    public var uncommittedFrameCount: Int
    /// Why reading stopped.
    public var end: WALEnd
}

/// Reads committed transactions from a WAL, frame by frame, resumably.
///
/// A frame counts only when its salts equal the header's and its cumulative checksum
/// verifies; frames count only once a commit frame (non-zero commit-size field) closes
/// their transaction. The first frame that fails ends the valid log (it is not an error):
/// everything after it is ignored, as SQLite's recovery does. A partial tail is never
/// returned; reading again from ``position`` once the writer finished picks it up.
/// Memory: one frame buffer plus the frame descriptors of the transactions returned.
///
/// Source: SQLite, "Database File Format" §4.1 WAL File Format and §4.2 Checksum Algorithm
/// (https://www.sqlite.org/fileformat2.html#walformat).
public struct WALReader {
    /// Just after the last committed transaction returned so far.
    public private(set) var position: WALPosition

    /// Starts at the first frame of the WAL in `source`.
    ///
    /// - Returns: `nil` when the source holds fewer than 32 bytes (no WAL yet).
    /// - Throws: ``WALDecodingError`` for an invalid header, or the source's I/O error.
    public init?(source: some ByteSource) throws {
        guard let header = try WALHeader.decode(try source.readBytes(at: 0, count: WALFormat.headerSize)[...]) else {
            return nil
        }
        position = WALPosition(header: header)
    }

    /// Resumes at a saved position.
    public init(resumingAt position: WALPosition) {
        self.position = position
    }

    /// Reads the committed transactions after ``position`` and advances past them.
    ///
    /// - Parameters:
    ///   - source: the WAL bytes (the same file, possibly grown).
    ///   - maximumTransactionCount: stop after this many transactions.
    /// - Returns: the transactions, the count of valid frames after the last commit, and why
    ///   reading stopped. The header is re-read first: if it changed, nothing is returned and
    ///   the end is ``WALEnd/headerChanged``.
    /// - Throws: only the source's I/O errors.
    /// - Complexity: O(n) in the bytes read.
    public mutating func readCommittedTransactions(from source: some ByteSource,
                                                   maximumTransactionCount: Int = .max) throws -> WALReadResult {
        let header = position.header
        let currentHeader = try? WALHeader.decode(try source.readBytes(at: 0, count: WALFormat.headerSize)[...])
        guard currentHeader == header else {
            return WALReadResult(transactions: [], uncommittedFrameCount: 0, end: .headerChanged)
        }
        var transactions: [CommittedTransaction] = []
        var pending: [WALFrame] = []
        var checksum = position.checksum
        var frameIndex = position.frameIndex
        let frameSize = header.frameSize
        while true {
            if transactions.count >= maximumTransactionCount {
                return WALReadResult(transactions: transactions, uncommittedFrameCount: 0, end: .transactionLimit)
            }
            let offset = header.offset(ofFrame: frameIndex)
            let frame = try source.readBytes(at: offset, count: frameSize)
            func stop(_ end: WALEnd) -> WALReadResult {
                WALReadResult(transactions: transactions, uncommittedFrameCount: pending.count, end: end)
            }
            if frame.isEmpty { return stop(.endOfData) }
            guard frame.count == frameSize, let frameHeader = WALFrameHeader.decode(frame[...]) else {
                return stop(.partialFrame(frameIndex: frameIndex, offset: offset))
            }
            guard frameHeader.salt1 == header.salt1, frameHeader.salt2 == header.salt2 else {
                return stop(.saltMismatch(frameIndex: frameIndex, offset: offset))
            }
            guard frameHeader.pageNumber != 0 else {
                return stop(.invalidPageNumber(frameIndex: frameIndex, offset: offset))
            }
            let next = checksum.adding(frame[0..<8], isBigEndian: header.isBigEndianChecksum)
                .adding(frame[WALFormat.frameHeaderSize...], isBigEndian: header.isBigEndianChecksum)
            guard next == frameHeader.checksum else {
                return stop(.checksumMismatch(frameIndex: frameIndex, offset: offset))
            }
            checksum = next
            pending.append(WALFrame(pageNumber: frameHeader.pageNumber, frameIndex: frameIndex, offset: offset))
            frameIndex += 1
            if frameHeader.isCommit {
                transactions.append(CommittedTransaction(frames: pending, databaseSizeInPages: frameHeader.commitSizeInPages,
                                                         checksumAfterCommit: checksum))
                pending.removeAll(keepingCapacity: true)
                position.frameIndex = frameIndex
                position.checksum = checksum
            }
        }
    }
}
