import CDCCore
@testable import CDCWAL
import XCTest

/// Hand-made corruptions of a real multi-level b-tree (the page-size-512 fixture): each must
/// end in its own typed error, never a crash or a loop.
final class CorruptPageTests: XCTestCase {
    /// A snapshot with some pages replaced.
    struct PatchedSource<Base: PageSource>: PageSource {
        let base: Base
        var patches: [UInt32: [UInt8]] = [:]
        var pageSize: Int { base.pageSize }
        var databaseSizeInPages: UInt32 { base.databaseSizeInPages }
        func page(_ number: UInt32) throws -> [UInt8] {
            if let p = patches[number] { return p }
            return try base.page(number)
        }
    }

    private func setUpTree() throws -> (PatchedSource<WALSnapshotPageSource<[UInt8], [UInt8]>>, root: UInt32, rootBytes: [UInt8]) {
        let f = try WALFixture("page-size-512")
        let base = try f.snapshot(at: f.pageMap.commits.count - 1)
        let walker = try BTreeWalker(source: base)
        let root = try XCTUnwrap(try walker.schema().first { $0.name == "t" }).rootPage
        XCTAssertEqual(try walker.pageType(of: root), .tableInterior, "the fixture must have an interior root")
        return (PatchedSource(base: base), root, try base.page(root))
    }

    private func kind(_ body: () throws -> Void) -> PageDecodingError.Kind? {
        do { try body() } catch let e as PageDecodingError { return e.kind } catch { XCTFail("\(error)") }
        return nil
    }

    private func put(_ v: UInt32, into bytes: inout [UInt8], at i: Int) {
        for k in 0..<4 { bytes[i + k] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * k)) }
    }

    func testChildPointingBackAtTheRootIsACycle() throws {
        var (source, root, bytes) = try setUpTree()
        put(root, into: &bytes, at: 8) // the right-most pointer
        source.patches[root] = bytes
        let walker = try BTreeWalker(source: source)
        XCTAssertEqual(kind { _ = try walker.tableRows(rootPage: root) }, .cycle)
    }

    func testChildBeyondTheDatabaseIsOutOfRange() throws {
        var (source, root, bytes) = try setUpTree()
        put(source.databaseSizeInPages + 1, into: &bytes, at: 8)
        source.patches[root] = bytes
        let walker = try BTreeWalker(source: source)
        XCTAssertEqual(kind { _ = try walker.tableRows(rootPage: root) }, .pageOutOfRange(databaseSizeInPages: source.databaseSizeInPages))
    }

    func testCellPointerOutsideThePageIsAnError() throws {
        var (source, root, bytes) = try setUpTree()
        bytes[12] = 0xFF; bytes[13] = 0xF0 // first cell pointer far past a 512-byte page
        source.patches[root] = bytes
        let walker = try BTreeWalker(source: source)
        XCTAssertEqual(kind { _ = try walker.tableRows(rootPage: root) }, .cellOutOfPage)
    }

    func testCellCountLargerThanThePageIsAnError() throws {
        var (source, root, bytes) = try setUpTree()
        bytes[3] = 0x7F; bytes[4] = 0xFF
        source.patches[root] = bytes
        let walker = try BTreeWalker(source: source)
        XCTAssertEqual(kind { _ = try walker.tableRows(rootPage: root) }, .cellCountTooLarge(0x7FFF))
    }

    func testRecordHeaderLargerThanItsPayloadIsAnError() throws {
        var (source, _, _) = try setUpTree()
        let walker = try BTreeWalker(source: source)
        // Find the first leaf of t and corrupt its first record's header-size varint.
        let leafNumber = try firstLeaf(of: try walker.schema().first { $0.name == "t" }!.rootPage, source) // safe: checked in setUpTree
        var leaf = try source.page(leafNumber)
        let page = try BTreePage(pageNumber: leafNumber, bytes: leaf, usableSize: walker.usableSize)
        let cell = try page.cellOffset(at: 0)
        let payloadSize = try BTreeCell(page: page, offset: cell, maximumPayloadSize: 1 << 20).payloadSize
        var c = ByteCursor(leaf); c.seek(to: cell); _ = c.readVarint(); _ = c.readVarint()
        leaf[c.position] = 0x7F // header size 127 > payload
        source.patches[leafNumber] = leaf
        XCTAssertEqual(kind { _ = try BTreeWalker(source: source).tableRows(rootPage: 2) },
                       .recordHeaderOutOfRange(headerSize: 127, payloadSize: payloadSize))
    }

    func testAWrongPageTypeInsideATableTreeIsAnError() throws {
        var (source, root, bytes) = try setUpTree()
        bytes[0] = 0x02 // an index interior page inside a table tree
        source.patches[root] = bytes
        let walker = try BTreeWalker(source: source)
        XCTAssertEqual(kind { _ = try walker.tableRows(rootPage: root) }, .invalidPageType(0x02))
        bytes[0] = 0x07
        source.patches[root] = bytes
        let second = try BTreeWalker(source: source) // the walker holds its own copy of the source
        XCTAssertEqual(kind { _ = try second.tableRows(rootPage: root) }, .invalidPageType(0x07))
    }

    private func firstLeaf(of root: UInt32, _ source: some PageSource) throws -> UInt32 {
        var number = root
        for _ in 0..<20 {
            let page = try BTreePage(pageNumber: number, bytes: try source.page(number), usableSize: source.pageSize)
            if page.type.isLeaf { return number }
            number = try BTreeCell(page: page, offset: try page.cellOffset(at: 0), maximumPayloadSize: 0).leftChild
        }
        throw PageDecodingError(.treeTooDeep(20), pageNumber: root)
    }
}
