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
///
/// Equality and hashing cover the frames, the size and the checksum; the page bytes the
/// reader may have kept (``pageImages``) are a cache of the file's contents and take no part.
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
    /// The pages of ``frames`` as the reader read and verified them, when it kept them (see
    /// ``WALReader/pageImageBudgetInBytes``): ``WALPageMap/add(_:)`` hands them to its frame
    /// cache, so snapshots need not read them again.
    var pageImages: WALPageImages?

    public static func == (a: CommittedTransaction, b: CommittedTransaction) -> Bool {
        a.frames == b.frames && a.databaseSizeInPages == b.databaseSizeInPages && a.checksumAfterCommit == b.checksumAfterCommit
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(frames)
        hasher.combine(databaseSizeInPages)
        hasher.combine(checksumAfterCommit)
    }
}

/// The page bytes of one transaction's frames, as the reader verified them, with the
/// generation (the WAL header's salts) they belong to: a frame index alone names other bytes
/// after a WAL restart.
struct WALPageImages: Sendable {
    /// The salts of the WAL header the frames were read under (their own salts, verified).
    var salt1: UInt32
    var salt2: UInt32
    /// The page of each frame, in frame order; empty for a frame whose page was not kept.
    var pages: [[UInt8]]
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
/// Memory: one read buffer (``readChunkBytes``), the frame descriptors of the transactions
/// returned, and the pages kept for them (``pageImageBudgetInBytes`` at most).
///
/// Source: SQLite, "Database File Format" §4.1 WAL File Format and §4.2 Checksum Algorithm
/// (https://www.sqlite.org/fileformat2.html#walformat).
public struct WALReader {
    /// Just after the last committed transaction returned so far.
    public private(set) var position: WALPosition

    /// The bytes read with one system call: several frames of small pages (one frame when a
    /// frame is larger). Below glibc's 128 KiB threshold for mapping allocations afresh.
    static let readChunkBytes = 64 << 10

    /// The most page bytes one ``readCommittedTransactions(from:maximumTransactionCount:)``
    /// keeps in the transactions it returns (``CommittedTransaction/pageImages``): the pages of
    /// the first frames, so that capture reads them once; frames past the budget are read again
    /// from the file when needed. Bounds the memory a read adds, whatever the transactions' size.
    static let pageImageBudgetInBytes = 2 << 20

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
        var pendingImages: [[UInt8]] = []
        var imageBudget = Self.pageImageBudgetInBytes
        var checksum = position.checksum
        var frameIndex = position.frameIndex
        let frameSize = header.frameSize
        // Frames are read several at a time (one system call for many frames); `chunk` holds
        // the bytes from frame `chunkFirst` on, as they were at that read.
        let chunkFrameCount = max(1, Self.readChunkBytes / frameSize)
        var chunk: [UInt8] = []
        var chunkFirst = frameIndex
        while true {
            if transactions.count >= maximumTransactionCount {
                return WALReadResult(transactions: transactions, uncommittedFrameCount: 0, end: .transactionLimit)
            }
            let offset = header.offset(ofFrame: frameIndex)
            var start = (frameIndex - chunkFirst) * frameSize
            if start + frameSize > chunk.count {
                // Not (wholly) in the last read: read again from this frame, as a frame-by-frame
                // reader would, so a frame completed since the last read is seen.
                chunk = try source.readBytes(at: offset, count: chunkFrameCount * frameSize)
                chunkFirst = frameIndex
                start = 0
            }
            func stop(_ end: WALEnd) -> WALReadResult {
                WALReadResult(transactions: transactions, uncommittedFrameCount: pending.count, end: end)
            }
            if chunk.isEmpty { return stop(.endOfData) }
            guard chunk.count - start >= frameSize, let frameHeader = WALFrameHeader.decode(chunk[start..<(start + frameSize)]) else {
                return stop(.partialFrame(frameIndex: frameIndex, offset: offset))
            }
            guard frameHeader.salt1 == header.salt1, frameHeader.salt2 == header.salt2 else {
                return stop(.saltMismatch(frameIndex: frameIndex, offset: offset))
            }
            guard frameHeader.pageNumber != 0 else {
                return stop(.invalidPageNumber(frameIndex: frameIndex, offset: offset))
            }
            let pageStart = start + WALFormat.frameHeaderSize, end = start + frameSize
            let isBigEndian = header.isBigEndianChecksum
            let next = chunk.withUnsafeBytes { raw in
                checksum.adding(UnsafeRawBufferPointer(rebasing: raw[start..<(start + 8)]), isBigEndian: isBigEndian)
                    .adding(UnsafeRawBufferPointer(rebasing: raw[pageStart..<end]), isBigEndian: isBigEndian)
            }
            guard next == frameHeader.checksum else {
                return stop(.checksumMismatch(frameIndex: frameIndex, offset: offset))
            }
            checksum = next
            pending.append(WALFrame(pageNumber: frameHeader.pageNumber, frameIndex: frameIndex, offset: offset))
            if imageBudget >= header.pageSize {
                imageBudget -= header.pageSize
                pendingImages.append(Array(chunk[pageStart..<end]))
            } else {
                pendingImages.append([])
            }
            frameIndex += 1
            if frameHeader.isCommit {
                let images = pendingImages.contains { !$0.isEmpty }
                    ? WALPageImages(salt1: header.salt1, salt2: header.salt2, pages: pendingImages) : nil
                transactions.append(CommittedTransaction(frames: pending, databaseSizeInPages: frameHeader.commitSizeInPages,
                                                         checksumAfterCommit: checksum, pageImages: images))
                pending.removeAll(keepingCapacity: true)
                pendingImages.removeAll(keepingCapacity: true)
                position.frameIndex = frameIndex
                position.checksum = checksum
            }
        }
    }
}

extension WALChecksum {
    /// ``adding(_:isBigEndian:)`` over raw bytes, reading each word with one load: the
    /// reader checksums every byte of the WAL, and the byte-by-byte form cost more than the
    /// read itself.
    ///
    /// - Parameters:
    ///   - bytes: a whole number of 8-byte pairs of words; a trailing partial pair is ignored,
    ///     as ``adding(_:isBigEndian:)`` ignores it.
    ///   - isBigEndian: whether words are big-endian (the magic's low bit).
    /// - Complexity: O(n) in `bytes.count`.
    fileprivate func adding(_ bytes: UnsafeRawBufferPointer, isBigEndian: Bool) -> WALChecksum {
        var s0 = first, s1 = second
        let pairs = bytes.count / 8
        if isBigEndian {
            for i in 0..<pairs {
                s0 = s0 &+ UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt32.self)) &+ s1
                s1 = s1 &+ UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8 * i + 4, as: UInt32.self)) &+ s0
            }
        } else {
            for i in 0..<pairs {
                s0 = s0 &+ UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt32.self)) &+ s1
                s1 = s1 &+ UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i + 4, as: UInt32.self)) &+ s0
            }
        }
        return WALChecksum(first: s0, second: s1)
    }
}
