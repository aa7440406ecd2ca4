@testable import CDCWAL
import XCTest

/// The map's own rules on hand-made entries; fixtures/wal-diff checks it against real files.
final class PageOwnershipTests: XCTestCase {
    func testRootAndHolderFollowParents() {
        var map = PageOwnership(databaseSizeInPages: 10)
        map.setEntry(2, .init(parent: 2, isOverflowPage: false))  // root
        map.setEntry(3, .init(parent: 2, isOverflowPage: false))  // leaf
        map.setEntry(7, .init(parent: 3, isOverflowPage: true))   // first overflow page
        map.setEntry(9, .init(parent: 7, isOverflowPage: true))   // second
        XCTAssertEqual(map.root(of: 9), 2)
        XCTAssertEqual(map.bTreePage(holding: 9), 3)
        XCTAssertEqual(map.bTreePage(holding: 3), 3)
        XCTAssertNil(map.root(of: 5), "not owned")
        XCTAssertNil(map.root(of: 0))
        XCTAssertNil(map.root(of: 11), "beyond the map")
        XCTAssertEqual(map.ownedPageCount, 4)
    }

    func testCyclesEndInNilNotALoop() {
        var map = PageOwnership(databaseSizeInPages: 4)
        map.setEntry(2, .init(parent: 3, isOverflowPage: true))
        map.setEntry(3, .init(parent: 2, isOverflowPage: true))
        XCTAssertNil(map.root(of: 2))
        XCTAssertNil(map.bTreePage(holding: 3))
        var resolver = OwnershipResolver(limit: 5) { map.entry(of: $0) }
        XCTAssertNil(resolver.resolve(2))
    }

    func testResizeCutsOffPagesAndMismatchesAreListed() {
        var map = PageOwnership(databaseSizeInPages: 70)
        map.setEntry(66, .init(parent: 1, isOverflowPage: true))
        var shorter = map
        shorter.resize(to: 65)
        XCTAssertEqual(shorter.entry(of: 66), .unowned)
        XCTAssertEqual(shorter.mismatchedPages(comparedWith: map), [66])
        shorter.resize(to: 70)
        XCTAssertEqual(shorter, {
            var m = map
            m.setEntry(66, .unowned)
            return m
        }())
    }
}
