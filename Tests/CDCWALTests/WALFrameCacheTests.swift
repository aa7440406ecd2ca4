@testable import CDCWAL
import XCTest

/// The frame cache behind ``WALPageMap`` snapshots, and the pages the reader hands it: never a
/// page of another generation, never more bytes than its budget, and the same pages a
/// snapshot without it reads.
final class WALFrameCacheTests: XCTestCase {
    private func page(_ fill: UInt8, size: Int = 512) -> [UInt8] { [UInt8](repeating: fill, count: size) }

    func testEntriesBelongToOneGenerationAndStayWithinTheBudget() {
        let cache = WALFrameCache(capacityInBytes: 4 * 512)
        for i in 0..<10 { cache.insert(page(UInt8(i)), atFrame: i, salt1: 1, salt2: 2) }
        XCTAssertLessThanOrEqual(cache.byteCount, 4 * 512)
        for i in 6..<10 { XCTAssertEqual(cache.page(atFrame: i, salt1: 1, salt2: 2), page(UInt8(i)), "the newest frames are kept") }
        XCTAssertNil(cache.page(atFrame: 0, salt1: 1, salt2: 2), "the oldest frames were replaced")
        XCTAssertNil(cache.page(atFrame: 5, salt1: 1, salt2: 2))
        XCTAssertNil(cache.page(atFrame: 9, salt1: 1, salt2: 3), "another generation's frame 9 is other bytes")
        XCTAssertNil(cache.page(atFrame: 9, salt1: 2, salt2: 2))
        // A page of a new generation empties the cache: the old entries' frames are being overwritten.
        cache.insert(page(0xEE), atFrame: 0, salt1: 2, salt2: 7)
        XCTAssertNil(cache.page(atFrame: 9, salt1: 1, salt2: 2))
        XCTAssertNil(cache.page(atFrame: 9, salt1: 2, salt2: 7))
        XCTAssertEqual(cache.page(atFrame: 0, salt1: 2, salt2: 7), page(0xEE))
        XCTAssertEqual(cache.byteCount, 512)
        // A page larger than the whole budget is not kept; a zero budget keeps nothing.
        cache.insert(page(1, size: 8192), atFrame: 1, salt1: 2, salt2: 7)
        XCTAssertNil(cache.page(atFrame: 1, salt1: 2, salt2: 7))
        XCTAssertLessThanOrEqual(cache.byteCount, 4 * 512)
        let none = WALFrameCache(capacityInBytes: 0)
        none.insert(page(1), atFrame: 0, salt1: 1, salt2: 1)
        XCTAssertNil(none.page(atFrame: 0, salt1: 1, salt2: 1))
    }

    func testAnOlderFrameReadAgainIsKeptUntilNewFramesReachItsSlot() {
        let cache = WALFrameCache(capacityInBytes: 3 * 512)
        for i in 0..<9 { cache.insert(page(UInt8(i)), atFrame: i, salt1: 1, salt2: 1) }
        XCTAssertNil(cache.page(atFrame: 1, salt1: 1, salt2: 1))
        cache.insert(page(1), atFrame: 1, salt1: 1, salt2: 1) // a root page, read again from the file
        XCTAssertEqual(cache.page(atFrame: 1, salt1: 1, salt2: 1), page(1))
        XCTAssertNil(cache.page(atFrame: 7, salt1: 1, salt2: 1), "it took the slot of frame 7")
        cache.insert(page(9), atFrame: 9, salt1: 1, salt2: 1)
        XCTAssertEqual(cache.page(atFrame: 1, salt1: 1, salt2: 1), page(1), "another slot")
        cache.insert(page(10), atFrame: 10, salt1: 1, salt2: 1)
        XCTAssertNil(cache.page(atFrame: 1, salt1: 1, salt2: 1))
        XCTAssertEqual(cache.page(atFrame: 10, salt1: 1, salt2: 1), page(10))
        for i in 11..<2_000 { cache.insert(page(UInt8(truncatingIfNeeded: i)), atFrame: i, salt1: 1, salt2: 1) }
        XCTAssertLessThanOrEqual(cache.byteCount, 3 * 512)
        XCTAssertEqual(cache.page(atFrame: 1_999, salt1: 1, salt2: 1), page(UInt8(truncatingIfNeeded: 1_999)))
    }

    /// After a restart SQLite writes the new generation over the old one from frame 0, so the
    /// same frame index (and file offset) holds other bytes: a cached page of the old
    /// generation must never be served for it.
    func testARestartThatReusesFrameNumbersNeverServesTheOldGenerationsPages() throws {
        var old = SyntheticWAL(salt1: 1)
        old.appendFrame(page: 2, commitSize: 2, fill: 0xAA)
        var new = SyntheticWAL(salt1: 2)
        new.appendFrame(page: 2, commitSize: 2, fill: 0xBB)
        var oldReader = try XCTUnwrap(try WALReader(source: old.bytes))
        let oldRead = try oldReader.readCommittedTransactions(from: old.bytes)
        XCTAssertNotNil(oldRead.transactions.first?.pageImages, "the reader keeps the pages it verified")
        // One map across both generations (capture makes a new one per generation; this checks
        // that the cache alone already keys by generation).
        var map = WALPageMap(oldRead.transactions)
        let oldHeader = oldReader.position.header
        let oldSnapshot = try WALSnapshotPageSource(file: [UInt8](), wal: old.bytes, walHeader: oldHeader, pageMap: map, commit: map.commits[0])
        XCTAssertEqual(try oldSnapshot.page(2), page(0xAA))
        XCTAssertEqual(map.frameCache.page(atFrame: 0, salt1: oldHeader.salt1, salt2: oldHeader.salt2), page(0xAA))

        var newReader = try XCTUnwrap(try WALReader(source: new.bytes))
        let newHeader = newReader.position.header
        XCTAssertEqual(new.bytes.count, old.bytes.count, "same frame index, same offset")
        // A snapshot of the new generation over the same map: frame 0 must come from the new file.
        let newSnapshot = try WALSnapshotPageSource(file: [UInt8](), wal: new.bytes, walHeader: newHeader, pageMap: map, commit: map.commits[0])
        XCTAssertEqual(try newSnapshot.page(2), page(0xBB))
        // And the new generation's pages, once read and added, never answer for the old one.
        for t in try newReader.readCommittedTransactions(from: new.bytes).transactions { map.add(t) }
        let oldAgain = try WALSnapshotPageSource(file: [UInt8](), wal: old.bytes, walHeader: oldHeader, pageMap: map, commit: map.commits[0])
        XCTAssertEqual(try oldAgain.page(2), page(0xAA))
        XCTAssertEqual(try newSnapshot.page(2), page(0xBB))
    }

    /// A frame whose header names another generation than the snapshot's (the file was
    /// overwritten under it) is returned as read, as before, but not kept.
    func testAFrameOfAnotherGenerationIsNotKept() throws {
        var old = SyntheticWAL(salt1: 1)
        old.appendFrame(page: 2, commitSize: 2, fill: 0xAA)
        var new = SyntheticWAL(salt1: 2)
        new.appendFrame(page: 2, commitSize: 2, fill: 0xBB)
        var reader = try XCTUnwrap(try WALReader(source: old.bytes))
        let header = reader.position.header
        var transactions = try reader.readCommittedTransactions(from: old.bytes).transactions
        transactions[0].pageImages = nil
        let map = WALPageMap(transactions)
        let snapshot = try WALSnapshotPageSource(file: [UInt8](), wal: new.bytes, walHeader: header, pageMap: map, commit: map.commits[0])
        XCTAssertEqual(try snapshot.page(2), page(0xBB))
        XCTAssertNil(map.frameCache.page(atFrame: 0, salt1: header.salt1, salt2: header.salt2))
        let right = try WALSnapshotPageSource(file: [UInt8](), wal: old.bytes, walHeader: header, pageMap: map, commit: map.commits[0])
        XCTAssertEqual(try right.page(2), page(0xAA))
        XCTAssertEqual(map.frameCache.page(atFrame: 0, salt1: header.salt1, salt2: header.salt2), page(0xAA), "a checked frame is kept")
    }

    func testTheReaderKeepsVerifiedPagesWithinItsBudget() throws {
        var w = SyntheticWAL()
        let frames = WALReader.pageImageBudgetInBytes / 512 + 300
        for i in 0..<frames { w.appendFrame(page: UInt32(i % 50 + 1), commitSize: i % 7 == 6 ? 50 : 0, fill: UInt8(truncatingIfNeeded: i)) }
        w.appendFrame(page: 1, commitSize: 50, fill: 1)
        var reader = try XCTUnwrap(try WALReader(source: w.bytes))
        let result = try reader.readCommittedTransactions(from: w.bytes)
        XCTAssertEqual(result.end, .endOfData)
        var kept = 0
        for t in result.transactions {
            guard let images = t.pageImages else { continue }
            XCTAssertEqual(images.pages.count, t.frames.count)
            for (frame, bytes) in zip(t.frames, images.pages) where !bytes.isEmpty {
                kept += bytes.count
                XCTAssertEqual(bytes, Array(w.bytes[(frame.offset + 24)..<(frame.offset + 24 + 512)]))
            }
        }
        XCTAssertGreaterThan(kept, 0)
        XCTAssertLessThanOrEqual(kept, WALReader.pageImageBudgetInBytes)
        XCTAssertNil(result.transactions.last?.pageImages, "past the budget, pages are read again when needed")
    }

    /// Frames are read many at a time: a log longer than one read, cut at many points and
    /// resumed, gives the transactions a frame-by-frame reading gives.
    func testALogLongerThanOneReadIsReadAndResumedExactly() throws {
        var w = SyntheticWAL()
        var commits: [Int] = []
        for i in 0..<400 {
            let isCommit = i % 5 == 4
            w.appendFrame(page: UInt32(i % 9 + 1), commitSize: isCommit ? 9 : 0, fill: UInt8(truncatingIfNeeded: i))
            if isCommit { commits.append(i) }
        }
        XCTAssertGreaterThan(400 * 536, WALReader.readChunkBytes, "the log must span several reads")
        let full = w.bytes
        for cut in stride(from: 32, through: full.count, by: 997) {
            let prefix = Array(full.prefix(cut))
            var reader = try XCTUnwrap(try WALReader(source: prefix))
            let first = try reader.readCommittedTransactions(from: prefix, maximumTransactionCount: 30)
            let second = try reader.readCommittedTransactions(from: prefix)
            let rest = try reader.readCommittedTransactions(from: full)
            let all = first.transactions + second.transactions + rest.transactions
            XCTAssertEqual(all.map(\.commitFrameIndex), commits, "cut at \(cut)")
            XCTAssertEqual(all.flatMap(\.frames).map(\.frameIndex), Array(0..<400))
        }
    }

    /// On every real-SQLite fixture, each page of each snapshot is the same with the frame
    /// cache as without it, read in either order.
    func testSnapshotsReadTheSamePagesWithAndWithoutTheCache() throws {
        for name in WALFixture.names where name != "page-size-65536" {
            let f = try WALFixture(name)
            var plain = WALPageMap(frameCacheCapacityInBytes: 0)
            for t in f.read.transactions {
                var bare = t
                bare.pageImages = nil
                plain.add(bare)
            }
            let small = WALPageMap(frameCacheCapacityInBytes: 4 * f.header.pageSize)
            var smallMap = small
            for t in f.read.transactions { smallMap.add(t) }
            for (i, commit) in f.pageMap.commits.enumerated() {
                let cached = try f.snapshot(at: i)
                let bare = try WALSnapshotPageSource(file: f.db, wal: f.wal, walHeader: f.header, pageMap: plain, commit: commit)
                let tight = try WALSnapshotPageSource(file: f.db, wal: f.wal, walHeader: f.header, pageMap: smallMap, commit: commit)
                for p in stride(from: commit.databaseSizeInPages, through: 1, by: -1) {
                    let expected = try bare.page(p)
                    XCTAssertEqual(try cached.page(p), expected, "\(name) commit \(i) page \(p)")
                    XCTAssertEqual(try tight.page(p), expected, "\(name) commit \(i) page \(p), tight cache")
                }
            }
            XCTAssertEqual(plain.frameCache.byteCount, 0)
            XCTAssertLessThanOrEqual(smallMap.frameCache.byteCount, 4 * f.header.pageSize)
        }
    }

    /// The database header's page size is checked once per generation and file object; any
    /// other file is still checked.
    func testThePageSizeCheckIsRememberedOnlyForTheFileItWasMadeOn() throws {
        let f = try WALFixture("page-size-512")
        let other = try WALFixture("simple")
        XCTAssertNotEqual(f.header.pageSize, other.header.pageSize)
        let right = try FileByteSource(path: f.folder.appendingPathComponent("db").path)
        let wrong = try FileByteSource(path: other.folder.appendingPathComponent("db").path)
        let commit = f.pageMap.commits[0]
        for _ in 0..<2 {
            XCTAssertNoThrow(try WALSnapshotPageSource(file: right, wal: f.wal, walHeader: f.header, pageMap: f.pageMap, commit: commit))
            XCTAssertThrowsError(try WALSnapshotPageSource(file: wrong, wal: f.wal, walHeader: f.header, pageMap: f.pageMap, commit: commit)) {
                XCTAssertEqual(($0 as? PageDecodingError)?.kind,
                               .pageSizeMismatch(walPageSize: f.header.pageSize, databasePageSize: other.header.pageSize))
            }
        }
    }
}
