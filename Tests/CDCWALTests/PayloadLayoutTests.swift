import CDCTestSupport
@testable import CDCWAL
import Foundation
import XCTest

/// The X/M/K overflow rule of fileformat2.html §1.6, by hand-computed numbers.
final class PayloadLayoutTests: XCTestCase {
    func testThresholdsForA1024ByteTableLeaf() {
        // U = 1024: X = 989, M = (1012·32/255) − 23 = 103.
        XCTAssertEqual(PayloadLayout.maximumLocal(usableSize: 1024, isTableLeaf: true), 989)
        XCTAssertEqual(PayloadLayout.minimumLocal(usableSize: 1024), 103)
        XCTAssertEqual(PayloadLayout.localSize(payloadSize: 989, usableSize: 1024, isTableLeaf: true), 989)
        // P = 990: K = 103 + (887 mod 1020) = 990 > X, so M.
        XCTAssertEqual(PayloadLayout.localSize(payloadSize: 990, usableSize: 1024, isTableLeaf: true), 103)
        // P = 1200: K = 103 + 1097 mod 1020 = 180 ≤ X, so K.
        XCTAssertEqual(PayloadLayout.localSize(payloadSize: 1200, usableSize: 1024, isTableLeaf: true), 180)
    }

    func testThresholdsForA4096ByteIndexPage() {
        // U = 4096: X = (4084·64/255) − 23 = 1002, M = (4084·32/255) − 23 = 489.
        XCTAssertEqual(PayloadLayout.maximumLocal(usableSize: 4096, isTableLeaf: false), 1002)
        XCTAssertEqual(PayloadLayout.minimumLocal(usableSize: 4096), 489)
        XCTAssertEqual(PayloadLayout.localSize(payloadSize: 1002, usableSize: 4096, isTableLeaf: false), 1002)
        // P = 5000: K = 489 + (4511 mod 4092) = 908 ≤ X.
        XCTAssertEqual(PayloadLayout.localSize(payloadSize: 5000, usableSize: 4096, isTableLeaf: false), 908)
    }

    func testPointerMapGeometry() {
        // U = 1024: 204 entries a map page; map pages 2, 207, 412, …
        XCTAssertTrue(PointerMap.isMapPage(2, usableSize: 1024, pageSize: 1024))
        XCTAssertFalse(PointerMap.isMapPage(3, usableSize: 1024, pageSize: 1024))
        XCTAssertEqual(PointerMap.mapPage(for: 206, usableSize: 1024, pageSize: 1024), 2)
        XCTAssertTrue(PointerMap.isMapPage(207, usableSize: 1024, pageSize: 1024))
        XCTAssertEqual(PointerMap.mapPage(for: 208, usableSize: 1024, pageSize: 1024), 207)
    }

    /// A WAL file read through FileByteSource while it "grows": resume from the saved position.
    func testResumingOverAGrowingFile() throws {
        let f = try WALFixture("simple")
        let dir = try TemporaryDirectory(prefix: "wal-grow")
        let path = dir.path("db-wal")
        let frames = try XCTUnwrap(f.expected["frames_after_commit"] as? [Int])
        let cut = 32 + frames[3] * (4096 + 24) + 1000 // mid-way through the 5th transaction's first frame
        try Data(f.wal.prefix(cut)).write(to: URL(fileURLWithPath: path))
        let file = try FileByteSource(path: path)
        var reader = try XCTUnwrap(try WALReader(source: file))
        let first = try reader.readCommittedTransactions(from: file)
        XCTAssertEqual(first.transactions.count, 4)
        guard case .partialFrame = first.end else { return XCTFail("\(first.end)") }
        let saved = reader.position
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(f.wal.dropFirst(cut)))
        try handle.close()
        var resumed = WALReader(resumingAt: saved)
        let rest = try resumed.readCommittedTransactions(from: file)
        XCTAssertEqual((first.transactions + rest.transactions), f.read.transactions)
        XCTAssertEqual(rest.end, .endOfData)
    }
}
