@testable import CDCWAL
import XCTest

/// The WAL reader on synthetic logs built from §4.1/§4.2 (real-SQLite fixtures are in
/// WALFixtureTests).
final class WALReaderTests: XCTestCase {
    private func threeTransactions(bigEndian: Bool) -> SyntheticWAL {
        var w = SyntheticWAL(isBigEndian: bigEndian)
        w.appendFrame(page: 1); w.appendFrame(page: 2, commitSize: 2)
        w.appendFrame(page: 2, commitSize: 2)
        w.appendFrame(page: 3); w.appendFrame(page: 1, commitSize: 3)
        return w
    }

    func testReadsCommittedTransactionsInBothChecksumByteOrders() throws {
        for bigEndian in [true, false] {
            let w = threeTransactions(bigEndian: bigEndian)
            var reader = try XCTUnwrap(try WALReader(source: w.bytes))
            XCTAssertEqual(reader.position.header.isBigEndianChecksum, bigEndian)
            let result = try reader.readCommittedTransactions(from: w.bytes)
            XCTAssertEqual(result.end, .endOfData)
            XCTAssertEqual(result.transactions.map(\.commitFrameIndex), [1, 2, 4])
            XCTAssertEqual(result.transactions.map(\.databaseSizeInPages), [2, 2, 3])
            XCTAssertEqual(result.transactions[2].frames.map(\.pageNumber), [3, 1])
            XCTAssertEqual(result.transactions[2].frames[0].offset, 32 + 3 * (24 + 512))
            XCTAssertEqual(reader.position.frameIndex, 5)
        }
    }

    func testEmptyAndShortHeaderMeanNoWALYet() throws {
        XCTAssertNil(try WALReader(source: [UInt8]()))
        XCTAssertNil(try WALReader(source: Array(SyntheticWAL().bytes.prefix(31))))
    }

    func testInvalidHeadersAreTypedErrors() {
        var bad = SyntheticWAL().bytes
        bad[27] ^= 1
        XCTAssertThrowsError(try WALReader(source: bad)) { XCTAssertEqual($0 as? WALDecodingError, .headerChecksumMismatch) }
        bad = SyntheticWAL().bytes
        bad[0] = 0
        XCTAssertThrowsError(try WALReader(source: bad)) { XCTAssertEqual($0 as? WALDecodingError, .badMagic(0x007F_0683)) }
        XCTAssertThrowsError(try WALReader(source: SyntheticWAL(pageSize: 1000).bytes)) {
            XCTAssertEqual($0 as? WALDecodingError, .invalidPageSize(1000))
        }
    }

    /// Cut the log at every byte: never a torn transaction, and resuming after the writer
    /// "finishes" yields exactly the rest.
    func testTornTailAtEveryByteIsNeverReturnedAndResumes() throws {
        let w = threeTransactions(bigEndian: true)
        let full = w.bytes
        for cut in stride(from: 32, through: full.count, by: 37) {
            let prefix = Array(full.prefix(cut))
            var reader = try XCTUnwrap(try WALReader(source: prefix))
            let first = try reader.readCommittedTransactions(from: prefix)
            for t in first.transactions {
                XCTAssertLessThanOrEqual(t.frames.last.map { $0.offset + 24 + 512 } ?? 0, cut)
            }
            let rest = try reader.readCommittedTransactions(from: full)
            XCTAssertEqual((first.transactions + rest.transactions).map(\.commitFrameIndex), [1, 2, 4], "cut at \(cut)")
        }
    }

    func testFlippedByteEndsTheLogAtThatFrame() throws {
        var bytes = threeTransactions(bigEndian: false).bytes
        bytes[32 + 3 * 536 + 100] ^= 0x40 // data of frame 3
        var reader = try XCTUnwrap(try WALReader(source: bytes))
        let result = try reader.readCommittedTransactions(from: bytes)
        XCTAssertEqual(result.transactions.map(\.commitFrameIndex), [1, 2])
        XCTAssertEqual(result.end, .checksumMismatch(frameIndex: 3, offset: 32 + 3 * 536))
    }

    func testOldGenerationFramesEndTheLogBySalt() throws {
        var old = SyntheticWAL(salt1: 1)
        for p in 1...4 { old.appendFrame(page: UInt32(p), commitSize: 4) }
        var new = SyntheticWAL(salt1: 2)
        new.appendFrame(page: 1, commitSize: 4)
        let bytes = new.bytes + old.bytes[new.bytes.count...]
        var reader = try XCTUnwrap(try WALReader(source: bytes))
        let result = try reader.readCommittedTransactions(from: bytes)
        XCTAssertEqual(result.transactions.count, 1)
        XCTAssertEqual(result.end, .saltMismatch(frameIndex: 1, offset: 32 + 536))
        // A saved position notices the reset instead of misreading the new generation.
        var stale = WALReader(resumingAt: WALPosition(header: try XCTUnwrap(try WALHeader.decode(old.bytes[...]))))
        XCTAssertEqual(try stale.readCommittedTransactions(from: bytes).end, .headerChanged)
    }

    func testUncommittedFramesAreCountedNotReturned() throws {
        var w = SyntheticWAL()
        w.appendFrame(page: 1, commitSize: 1)
        w.appendFrame(page: 2); w.appendFrame(page: 3)
        var reader = try XCTUnwrap(try WALReader(source: w.bytes))
        let result = try reader.readCommittedTransactions(from: w.bytes)
        XCTAssertEqual(result.transactions.count, 1)
        XCTAssertEqual(result.uncommittedFrameCount, 2)
        XCTAssertEqual(reader.position.frameIndex, 1, "resumes at the last commit boundary")
    }

    func testTransactionLimitStopsAndResumes() throws {
        let w = threeTransactions(bigEndian: true)
        var reader = try XCTUnwrap(try WALReader(source: w.bytes))
        let a = try reader.readCommittedTransactions(from: w.bytes, maximumTransactionCount: 2)
        XCTAssertEqual(a.end, .transactionLimit)
        let b = try reader.readCommittedTransactions(from: w.bytes)
        XCTAssertEqual((a.transactions + b.transactions).map(\.commitFrameIndex), [1, 2, 4])
    }

    func testPageMapGivesTheNewestFrameAtOrBeforeACommit() throws {
        let w = threeTransactions(bigEndian: true)
        var reader = try XCTUnwrap(try WALReader(source: w.bytes))
        let map = WALPageMap(try reader.readCommittedTransactions(from: w.bytes).transactions)
        XCTAssertEqual(map.frame(forPage: 1, atOrBeforeFrame: 1)?.frameIndex, 0)
        XCTAssertEqual(map.frame(forPage: 1, atOrBeforeFrame: 4)?.frameIndex, 4)
        XCTAssertEqual(map.frame(forPage: 2, atOrBeforeFrame: 2)?.frameIndex, 2)
        XCTAssertNil(map.frame(forPage: 3, atOrBeforeFrame: 2))
        XCTAssertNil(map.frame(forPage: 9, atOrBeforeFrame: 4))
        XCTAssertEqual(map.commits.map(\.databaseSizeInPages), [2, 2, 3])
    }
}
