import CDCWorkload
import CDCCore
@testable import CDCWAL
import Foundation
import XCTest

/// Seeded mutations of the pages one transaction of a fixtures/wal-diff case wrote (checksums
/// re-signed so the WAL reader accepts them), then ownership apply and row diff for that
/// transaction and the next, starting from a map built at the unmutated commit before.
///
/// Passing means: no crash, every failure a ``PageDecodingError``, and bounded work: the page
/// sources count reads and fail the test when one iteration reads more than a bound that no
/// valid run comes near (a loop cannot hide). CI runs `defaultIterations` (about a second);
/// CDC_FUZZ_ITERATIONS and CDC_FUZZ_SEED, as for ``DecoderFuzzTests``, make a longer run.
final class TransactionDiffFuzzTests: XCTestCase {
    static let defaultIterations = 500

    func testMutatedTransactionsNeverCrashOrLoop() throws {
        let env = ProcessInfo.processInfo.environment
        let iterations = env["CDC_FUZZ_ITERATIONS"].flatMap(Int.init) ?? Self.defaultIterations
        let seed = env["CDC_FUZZ_SEED"].flatMap(UInt64.init) ?? 0xD1FF_CDC0
        let fixtures = try WALDiffFixture.names.map { try WALDiffFixture($0) }
        var random = SplitMix64(seed: seed)
        var outcomes: [String: Int] = [:]
        let start = Date()
        for iteration in 0..<iterations {
            let f = fixtures[Int(random.next() % UInt64(fixtures.count))]
            let t = 1 + Int(random.next() % UInt64(f.read.transactions.count - 1))
            var wal = f.wal
            let frames = f.read.transactions[t].frames
            for _ in 0..<(1 + Int(random.next() % 4)) {
                mutate(&wal, frame: frames[Int(random.next() % UInt64(frames.count))], pageSize: f.header.pageSize, &random)
            }
            Mutator.resign(&wal)
            let outcome = run(f, wal: wal, transaction: t)
            if outcome == "budget" { XCTFail("iteration \(iteration) (seed \(seed)) read more pages than its bound: a loop") }
            if outcome.hasPrefix("other") { XCTFail("iteration \(iteration) (seed \(seed)): untyped error \(outcome)") }
            outcomes[outcome, default: 0] += 1
        }
        let seconds = Date().timeIntervalSince(start)
        print("diff fuzz: \(iterations) iterations in \(String(format: "%.1f", seconds)) s, seed \(seed): \(outcomes.sorted { $0.key < $1.key })")
        XCTAssertGreaterThan(outcomes["diffed", default: 0], 0, "some mutations must still decode")
        XCTAssertGreaterThan(outcomes.keys.filter { $0.hasPrefix("page:") }.count, 2, "mutations must reach the decoders")
    }

    /// Flips a bit, writes a random byte, or writes a small page number, inside the page of
    /// `frame` (often in the b-tree page header or the first bytes, where links are).
    private func mutate(_ wal: inout [UInt8], frame: WALFrame, pageSize: Int, _ random: inout SplitMix64) {
        let base = frame.offset + WALFormat.frameHeaderSize
        let headerStart = frame.pageNumber == 1 ? 100 : 0
        let i = base + (random.next() % 2 == 0 ? headerStart + Int(random.next() % 16) : Int(random.next() % UInt64(pageSize)))
        switch random.next() % 3 {
        case 0: wal[i] ^= UInt8(1 << (random.next() % 8))
        case 1: wal[i] = UInt8(truncatingIfNeeded: random.next())
        default:
            let v = UInt32(random.next() % 64)
            for k in 0..<4 where i + k < base + pageSize { wal[i + k] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * k)) }
        }
    }

    /// Builds the map at commit t−1, then applies and diffs commits t and t+1.
    private func run(_ f: WALDiffFixture, wal: [UInt8], transaction t: Int) -> String {
        do {
            guard var reader = try WALReader(source: wal) else { return "no wal" }
            let read = try reader.readCommittedTransactions(from: wal)
            let pageMap = WALPageMap(read.transactions)
            guard read.transactions.count > t else { return "wal cut" }
            let counter = BudgetedPageSource<WALSnapshotPageSource<[UInt8], [UInt8]>>.Counter(0)
            func snapshot(_ i: Int) throws -> BudgetedPageSource<WALSnapshotPageSource<[UInt8], [UInt8]>> {
                BudgetedPageSource(base: try WALSnapshotPageSource(file: f.db, wal: wal, walHeader: reader.position.header,
                                                                   pageMap: pageMap, commit: pageMap.commits[i]), counter: counter)
            }
            var old = try snapshot(t - 1)
            counter.remaining = 40 * Int(old.databaseSizeInPages + 8)
            var map = try PageOwnership.build(source: old, roots: try PageOwnership.rootPages(in: old))
            for i in t...min(t + 1, read.transactions.count - 1) {
                let new = try snapshot(i)
                // A valid apply, full build and diff read each page a few times: 40 × size is far above.
                counter.remaining = 40 * Int(max(new.databaseSizeInPages, old.databaseSizeInPages) + 8)
                let roots = try PageOwnership.rootPages(in: new)
                let changes = try map.apply(changedPages: read.transactions[i].frames.map(\.pageNumber), old: old, new: new, roots: roots)
                let trees = f.trees(for: min(i, f.transactions.count - 1)).map(\.tree)
                try TransactionDiff(old: old, new: new, ownership: map, changes: changes, affectedPageBudget: i == t ? 4096 : 0)
                    .run(trees: trees) { _, _ in }
                old = new
            }
            return "diffed"
        } catch is BudgetedPageSource<WALSnapshotPageSource<[UInt8], [UInt8]>>.Exhausted {
            return "budget"
        } catch let e as PageDecodingError {
            return PipelineOutcome.pageError(e).label
        } catch let e as WALDecodingError {
            return PipelineOutcome.walError(e).label
        } catch {
            return "other:\(type(of: error))"
        }
    }
}
