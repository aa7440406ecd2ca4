import CDCWorkload
@testable import CDCWAL
import XCTest

/// The ownership map's cell scan (``PageOwnership/Links``) against the cell parser it stands
/// in for (``BTreePage/forEachCell(maximumPayloadSize:_:)`` with ``CellLayout``), on every
/// b-tree page of the real-SQLite fixtures and on seeded corruptions of them; and the memo
/// that keeps links between transactions.
final class PageLinksTests: XCTestCase {
    /// The links as the cell parser gives them: the reference the scan must equal.
    private func referenceLinks(_ page: BTreePage, maximumPayloadSize: Int) throws -> (children: [UInt32], chains: [UInt32: Int]) {
        var children: [UInt32] = [], chains: [(UInt32, Int)] = []
        try page.forEachCell(maximumPayloadSize: maximumPayloadSize) { _, _, cell in
            if !page.type.isLeaf { children.append(cell.leftChild) }
            let count = OverflowChain.pageCount(payloadSize: cell.payloadSize, localSize: cell.localCount, usableSize: page.usableSize)
            if count > 0 { chains.append((cell.firstOverflowPage, count)) }
        }
        if !page.type.isLeaf { children.append(page.rightMostPointer) }
        return (children, Dictionary(chains, uniquingKeysWith: { a, _ in a }))
    }

    /// Every b-tree page of every fixture's last snapshot, with its usable size.
    private func bTreePages() throws -> [(name: String, page: BTreePage, maximumPayloadSize: Int)] {
        var out: [(String, BTreePage, Int)] = []
        for name in WALFixture.names {
            let f = try WALFixture(name)
            guard let last = f.pageMap.commits.indices.last else { continue }
            let source = try f.snapshot(at: last)
            let usable = try BTreeWalker(source: source).usableSize
            let map = try PageOwnership.build(source: source, roots: try PageOwnership.rootPages(in: source))
            for number in 1...source.databaseSizeInPages where map.entry(of: number).isOwned && !map.entry(of: number).isOverflowPage {
                out.append((name, try BTreePage(pageNumber: number, bytes: try source.page(number), usableSize: usable),
                            Int(source.databaseSizeInPages) * source.pageSize))
            }
        }
        return out
    }

    private func outcome(_ body: () throws -> (children: [UInt32], chains: [UInt32: Int])) -> String {
        do {
            let r = try body()
            return "\(r.children) \(r.chains.sorted { $0.key < $1.key })"
        } catch let e as PageDecodingError {
            return "error \(e.kind) at \(String(describing: e.pageNumber)) \(String(describing: e.offset))"
        } catch {
            return "other \(error)"
        }
    }

    func testTheScanGivesWhatTheCellParserGivesOnEveryFixturePage() throws {
        let pages = try bTreePages()
        XCTAssertGreaterThan(pages.count, 20)
        var spilling = 0
        for (name, page, maximum) in pages {
            let scan = try PageOwnership.Links(of: page, maximumPayloadSize: maximum)
            let reference = try referenceLinks(page, maximumPayloadSize: maximum)
            XCTAssertEqual(scan.children, reference.children, "\(name) page \(page.pageNumber)")
            XCTAssertEqual(Dictionary(scan.chains.map { ($0.first, $0.pageCount) }, uniquingKeysWith: { a, _ in a }), reference.chains,
                           "\(name) page \(page.pageNumber)")
            spilling += scan.chains.count
        }
        XCTAssertGreaterThan(spilling, 0, "the fixtures must have overflowing cells")
    }

    /// Corrupt bytes fail the scan exactly where and how they fail the cell parser.
    func testCorruptPagesFailTheScanAsTheyFailTheCellParser() throws {
        let pages = try bTreePages()
        var random = SplitMix64(seed: 0x11_4E5)
        var failures = 0
        for iteration in 0..<3_000 {
            let (name, original, maximum) = pages[Int(random.next() % UInt64(pages.count))]
            var bytes = original.bytes
            for _ in 0..<(1 + Int(random.next() % 3)) {
                // Mostly the header, cell pointers and the first bytes of cells: where structure is.
                let span = random.next() % 2 == 0 ? min(bytes.count, 64) : bytes.count
                bytes[Int(random.next() % UInt64(span))] = UInt8(truncatingIfNeeded: random.next())
            }
            guard let page = try? BTreePage(pageNumber: original.pageNumber, bytes: bytes, usableSize: original.usableSize) else { continue }
            // A tight maximum payload size, sometimes, to reach `.payloadTooLarge`.
            let maximumPayload = random.next() % 4 == 0 ? Int(random.next() % 5_000) : maximum
            let scan = outcome {
                let links = try PageOwnership.Links(of: page, maximumPayloadSize: maximumPayload)
                return (links.children, Dictionary(links.chains.map { ($0.first, $0.pageCount) }, uniquingKeysWith: { a, _ in a }))
            }
            let reference = outcome { try referenceLinks(page, maximumPayloadSize: maximumPayload) }
            XCTAssertEqual(scan, reference, "iteration \(iteration), \(name) page \(page.pageNumber)")
            if reference.hasPrefix("error") { failures += 1 }
        }
        XCTAssertGreaterThan(failures, 100, "corruptions must reach the error paths")
    }

    func testTheMemoAnswersOnlyForTheSameBytesUsableSizeAndAPayloadBoundNotBelowTheLargest() throws {
        let pages = try bTreePages()
        let (_, page, maximum) = try XCTUnwrap(pages.first { !$0.page.type.isLeaf || $0.page.cellCount > 1 })
        var memo = PageOwnership.LinksMemo()
        let links = try PageOwnership.Links(of: page, maximumPayloadSize: maximum)
        memo.remember(links, of: page.pageNumber, bytes: page.bytes, usableSize: page.usableSize)
        XCTAssertEqual(memo.links(of: page.pageNumber, bytes: page.bytes, usableSize: page.usableSize, maximumPayloadSize: maximum)?.children,
                       links.children)
        XCTAssertNotNil(memo.links(of: page.pageNumber, bytes: Array(page.bytes), usableSize: page.usableSize, maximumPayloadSize: maximum),
                        "equal bytes in another array")
        var changed = page.bytes
        changed[changed.count - 1] ^= 1
        XCTAssertNil(memo.links(of: page.pageNumber, bytes: changed, usableSize: page.usableSize, maximumPayloadSize: maximum))
        XCTAssertNil(memo.links(of: page.pageNumber + 1, bytes: page.bytes, usableSize: page.usableSize, maximumPayloadSize: maximum))
        XCTAssertNil(memo.links(of: page.pageNumber, bytes: page.bytes, usableSize: page.usableSize - 1, maximumPayloadSize: maximum))
        if links.largestPayloadSize > 0 {
            // Below the page's largest payload the parse throws `.payloadTooLarge`: no answer.
            XCTAssertNil(memo.links(of: page.pageNumber, bytes: page.bytes, usableSize: page.usableSize,
                                    maximumPayloadSize: links.largestPayloadSize - 1))
            XCTAssertThrowsError(try PageOwnership.Links(of: page, maximumPayloadSize: links.largestPayloadSize - 1))
        }
        // Bounded: past its capacity it starts over rather than grow.
        for n in 0..<UInt32(2 * PageOwnership.LinksMemo.capacityInBytes / page.bytes.count) {
            memo.remember(links, of: 10_000 + n, bytes: page.bytes, usableSize: page.usableSize)
            XCTAssertLessThanOrEqual(memo.byteCount, PageOwnership.LinksMemo.capacityInBytes)
        }
        XCTAssertEqual(memo.byteCount, memo.count * page.bytes.count)
    }

    /// After each update the memo holds the links of every written b-tree page's new version,
    /// so the next transaction finds its old version there; and the map stays a full build's.
    func testAfterEachUpdateTheMemoHoldsTheWrittenPagesNewVersions() throws {
        var checked = 0
        for name in WALDiffFixture.names {
            let f = try WALDiffFixture(name)
            var old = try f.initialSnapshot()
            var map = try PageOwnership.build(source: old, roots: try PageOwnership.rootPages(in: old))
            for (i, txn) in f.read.transactions.enumerated() {
                let new = try f.snapshot(at: i)
                let roots = try PageOwnership.rootPages(in: new)
                let changes = try map.apply(changedPages: txn.frames.map(\.pageNumber), old: old, new: new, roots: roots)
                XCTAssertEqual(map.mismatchedPages(comparedWith: try PageOwnership.build(source: new, roots: roots)), [], "\(name) txn \(i)")
                let usable = try BTreeWalker(source: new).usableSize
                if !changes.isFullRebuild, changes.changedPages.count < 64 {
                    for page in changes.changedPages where map.entry(of: page).isOwned && !map.entry(of: page).isOverflowPage {
                        XCTAssertNotNil(map.linksMemo.links(of: page, bytes: try new.page(page), usableSize: usable,
                                                            maximumPayloadSize: Int(new.databaseSizeInPages) * new.pageSize),
                                        "\(name) txn \(i): page \(page)'s new version is not remembered")
                        checked += 1
                    }
                }
                old = new
            }
        }
        XCTAssertGreaterThan(checked, 50)
    }
}
