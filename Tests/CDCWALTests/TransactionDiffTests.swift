import CDCCore
@testable import CDCWAL
import XCTest

/// Replays every fixtures/wal-diff case transaction by transaction: the incremental ownership
/// map must equal a full build after each commit, and the row diff must equal the changes
/// libsqlite3 showed (scripts/make-wal-diff-fixtures.py), value, storage class and order.
final class TransactionDiffTests: XCTestCase {
    /// How one replay runs apply and diff.
    struct Mode {
        var name: String
        /// `nil`: apply's default threshold (rebuilds on large transactions).
        var rebuildThreshold: Int?
        /// Affected pages above which a tree is streamed.
        var budget: Int
    }

    typealias Snapshot = WALSnapshotPageSource<[UInt8], [UInt8]>
    typealias Diff = TransactionDiff<Snapshot, Snapshot>

    static let modes = [
        Mode(name: "incremental, affected pages", rebuildThreshold: .max, budget: .max),
        Mode(name: "default thresholds", rebuildThreshold: nil, budget: 4096),
        Mode(name: "streaming merge", rebuildThreshold: nil, budget: 0),
    ]

    func testEveryFixtureReplaysInEveryMode() throws {
        for name in WALDiffFixture.names {
            let f = try WALDiffFixture(name)
            XCTAssertEqual(f.read.transactions.count, f.transactions.count, "\(name): committed transactions")
            let expectedChanges = f.transactions.reduce(0) { $0 + $1.changes.values.reduce(0) { $0 + $1.count } }
            XCTAssertGreaterThan(expectedChanges, 0, name)
            for mode in Self.modes {
                let results = try replay(f, mode: mode)
                XCTAssertEqual(results.reduce(0) { $0 + $1.1.deltaCount }, expectedChanges, "\(name) [\(mode.name)]: deltas")
            }
        }
    }

    /// Runs one fixture; returns per transaction the apply's changes and the diff's summary.
    @discardableResult
    func replay(_ f: WALDiffFixture, mode: Mode) throws -> [(PageOwnership.Changes, Diff.Summary)] {
        var old = try f.initialSnapshot()
        var map = try PageOwnership.build(source: old, roots: try PageOwnership.rootPages(in: old))
        var results: [(PageOwnership.Changes, Diff.Summary)] = []
        for (i, txn) in f.read.transactions.enumerated() where i < f.transactions.count {
            let expected = f.transactions[i]
            let context = "\(f.name) [\(mode.name)] txn \(i) (\(expected.label))"
            let new = try f.snapshot(at: i)
            let roots = try PageOwnership.rootPages(in: new)
            let decodedRoots = try BTreeWalker(source: new).schema().filter { $0.type == "table" && !$0.name.hasPrefix("sqlite_") }
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: decodedRoots.map { ($0.name, $0.rootPage) }),
                           expected.tables.mapValues(\.root), "\(context): roots")
            let changes = try map.apply(changedPages: txn.frames.map(\.pageNumber), old: old, new: new, roots: roots,
                                        rebuildThreshold: mode.rebuildThreshold)
            let full = try PageOwnership.build(source: new, roots: roots)
            let mismatched = map.mismatchedPages(comparedWith: full)
            XCTAssertEqual(mismatched, [], "\(context): incremental map differs from a full build at pages \(mismatched.prefix(10))"
                           + " (incremental \(mismatched.prefix(3).map { map.entry(of: $0) }), full \(mismatched.prefix(3).map { full.entry(of: $0) }))")
            XCTAssertEqual(map.rootPages, full.rootPages, context)
            if !mismatched.isEmpty { map = full } // keep checking the diff on a right map

            let trees = f.trees(for: i)
            let diff = TransactionDiff(old: old, new: new, ownership: map, changes: changes, affectedPageBudget: mode.budget)
            var got: [String: [WALDiffFixture.Change]] = [:]
            var deltas: [String: [RowDelta]] = [:]
            let byRoot = Dictionary(uniqueKeysWithValues: trees.map { ($0.tree, ($0.name, $0.table)) })
            let summary = try diff.run(trees: trees.map(\.tree)) { tree, delta in
                guard let (name, table) = byRoot[tree] else { return XCTFail("\(context): delta for an unknown tree") }
                got[name, default: []].append(table.change(from: delta))
                deltas[name, default: []].append(delta)
            }
            for (name, list) in deltas {
                XCTAssertEqual(list.map(\.key), list.map(\.key).sorted(), "\(context): \(name) deltas out of key order")
            }
            for name in Set(got.keys).union(expected.changes.keys).sorted() {
                let g = got[name] ?? [], e = expected.changes[name] ?? []
                XCTAssertEqual(g.count, e.count, "\(context): \(name) change count")
                for (k, (x, y)) in zip(g, e).enumerated() where x != y {
                    XCTFail("\(context): \(name) change \(k): got \(x.op) \(x.key.map(debugValue)) but expected \(y.op) \(y.key.map(debugValue))"
                            + (x.op == y.op ? " (values: got \(x.after?.map(debugValue) ?? x.before?.map(debugValue) ?? []) expected \(y.after?.map(debugValue) ?? y.before?.map(debugValue) ?? []))" : ""))
                    break
                }
            }
            results.append((changes, summary))
            old = new
        }
        return results
    }

    /// The fixtures exercise what they claim: a root split, a page freed without being
    /// written, an overflow page rewritten without its leaf, a root moved by auto-vacuum,
    /// VACUUM (a full rebuild), and the streaming path.
    func testTheFixturesExerciseTheHardCases() throws {
        var freedUnwritten = 0, rebuilt = 0
        for name in WALDiffFixture.names {
            let f = try WALDiffFixture(name)
            for (changes, _) in try replay(f, mode: Self.modes[1]) {
                freedUnwritten += changes.previousEntries.filter { page, before in
                    before.isOwned && !changes.changedPages.contains(page)
                }.count
                if changes.isFullRebuild { rebuilt += 1 }
            }
        }
        XCTAssertGreaterThan(freedUnwritten, 0, "some page must leave its tree without being written")
        XCTAssertGreaterThan(rebuilt, 0, "VACUUM must take the rebuild path")

        // splits-512: after the bulk insert the table is three levels deep (the root split).
        let splits = try WALDiffFixture("splits-512")
        let source = try splits.snapshot(at: 1)
        let root = try XCTUnwrap(splits.transactions[1].tables["t"]).root
        let rootPage = try BTreePage(pageNumber: root, bytes: try source.page(root), usableSize: 512)
        XCTAssertEqual(rootPage.type, .tableInterior)
        let child = try BTreePage(pageNumber: rootPage.rightMostPointer, bytes: try source.page(rootPage.rightMostPointer), usableSize: 512)
        XCTAssertEqual(child.type, .tableInterior, "the root split must have made a three-level tree")

        // overflow: the overwrite-in-place transaction wrote overflow pages only.
        let overflow = try WALDiffFixture("overflow")
        let index = try XCTUnwrap(overflow.transactions.firstIndex { $0.label.contains("overwrite in place") })
        let after = try overflow.snapshot(at: index)
        let map = try PageOwnership.build(source: after, roots: try PageOwnership.rootPages(in: after))
        let written = Set(overflow.read.transactions[index].frames.map(\.pageNumber))
        XCTAssertTrue(written.allSatisfy { map.entry(of: $0).isOverflowPage }, "only overflow pages written: \(written.map { map.entry(of: $0) })")
        XCTAssertEqual(overflow.transactions[index].changes["big"]?.count, 1)

        // auto-vacuum-full: dropping b moved c's root.
        let av = try WALDiffFixture("auto-vacuum-full")
        let drop = try XCTUnwrap(av.transactions.firstIndex { $0.label.hasPrefix("drop b") })
        XCTAssertNotEqual(av.tablesBefore(drop)["c"]?.root, av.transactions[drop].tables["c"]?.root)
    }

    /// A transaction whose affected pages exceed the budget is streamed; a small one is not.
    func testBudgetChoosesThePath() throws {
        let f = try WALDiffFixture("splits-512")
        let results = try replay(f, mode: Mode(name: "budget 20", rebuildThreshold: nil, budget: 20))
        XCTAssertGreaterThan(results[1].1.treesStreamed, 0, "the bulk insert touches more than 20 pages")
        XCTAssertEqual(results[2].1.treesStreamed, 0, "one inserted row touches a few pages")
        XCTAssertLessThanOrEqual(results[2].1.affectedPagesRead, 6)
    }
}
