import CDCCore
@testable import CDCWAL
import XCTest

/// Chunked reads of a table b-tree (snapshot epochs read in chunks in WAL mode): a seek past
/// a rowid, then at most `limit` rows, must give exactly the rows a full walk gives after it.
final class BTreeSeekTests: XCTestCase {
    func testChunksFromASeekEqualTheFullWalk() throws {
        let f = try WALFixture("page-size-512")
        let source = try f.snapshot(at: f.pageMap.commits.count - 1)
        let walker = try BTreeWalker(source: source)
        let root = try XCTUnwrap(try walker.schema().first { $0.name == "t" }).rootPage
        XCTAssertEqual(try walker.pageType(of: root), .tableInterior, "the fixture must have an interior root")
        let all = try walker.tableRows(rootPage: root)
        XCTAssertGreaterThan(all.count, 20)

        // Every chunk size, read chunk after chunk, gives every row once, in order.
        for limit in [1, 3, 7, 64, all.count, all.count + 5] {
            var rows: [TableRow] = []
            var after: Int64?
            repeat {
                after = try walker.forEachTableRow(rootPage: root, after: after, limit: limit) { rows.append($0) }
            } while after != nil
            XCTAssertEqual(rows, all, "limit \(limit)")
        }
        // Seeks to every rowid, to the gaps around them and past both ends.
        var points: [Int64] = [.min, -1, 0, .max]
        for row in all { points += [row.rowid - 1, row.rowid, row.rowid + 1] }
        for k in points {
            var rows: [TableRow] = []
            let next = try walker.forEachTableRow(rootPage: root, after: k, limit: 5) { rows.append($0) }
            let expected = all.filter { $0.rowid > k }
            XCTAssertEqual(rows, Array(expected.prefix(5)), "after \(k)")
            XCTAssertEqual(next, expected.count > 5 ? expected[4].rowid : nil, "after \(k)")
        }
    }
}
