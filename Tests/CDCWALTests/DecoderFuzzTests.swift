import CDCWorkload
import CDCCore
@testable import CDCWAL
import Foundation
import XCTest

/// Seeded random mutations of the fixtures fed through the whole decoding pipeline (WAL
/// reader, page map, snapshot, header, schema, every b-tree, freelist, pointer map).
///
/// Passing means: no crash (a trap would kill the test process), every failure is a typed
/// error, and work is bounded — a page source that counts reads fails the test if one
/// iteration reads more pages than (walks × database size) allows, so a loop cannot hide.
/// CI runs `defaultIterations`; set CDC_FUZZ_ITERATIONS (and CDC_FUZZ_SEED) for a long run.
final class DecoderFuzzTests: XCTestCase {
    static let defaultIterations = 2000

    func testMutatedFixturesNeverCrashOrLoop() throws {
        let env = ProcessInfo.processInfo.environment
        let iterations = env["CDC_FUZZ_ITERATIONS"].flatMap(Int.init) ?? Self.defaultIterations
        let seed = env["CDC_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_CDC0
        // The small-page fixtures exercise the most structure per byte; the 64 KiB one is slow to copy.
        let fixtures = try WALFixture.names.filter { $0 != "page-size-65536" }.map { try WALFixture($0) }
        var random = SplitMix64(seed: seed)
        var outcomes: [String: Int] = [:]
        let start = Date()
        for iteration in 0..<iterations {
            let f = fixtures[Int(random.next() % UInt64(fixtures.count))]
            var wal = f.wal, db = f.db
            let mode = random.next() % 4
            let mutations = 1 + Int(random.next() % 4)
            for _ in 0..<mutations {
                switch mode {
                case 0: Mutator.mutate(&wal, &random)
                case 1: Mutator.mutate(&db, &random)
                default: Mutator.mutatePage(of: &wal, &random)
                }
            }
            if mode == 2 { Mutator.resign(&wal) }
            let outcome = Pipeline.run(db: db, wal: wal, random: &random, innerErrors: &outcomes)
            if case .budgetExceeded = outcome {
                XCTFail("iteration \(iteration) (seed \(seed)) read more pages than its bound: a loop")
            }
            outcomes[outcome.label, default: 0] += 1
        }
        let seconds = Date().timeIntervalSince(start)
        print("fuzz: \(iterations) iterations in \(String(format: "%.1f", seconds)) s, seed \(seed): \(outcomes.sorted { $0.key < $1.key })")
        XCTAssertGreaterThan(outcomes["decoded", default: 0], 0, "some mutations must still decode")
        XCTAssertGreaterThan(outcomes.keys.filter { $0.hasPrefix("page:") }.count, 3, "mutations must reach the page decoders")
    }
}

/// What one pipeline run ended with.
enum PipelineOutcome {
    case decoded
    case walError(WALDecodingError)
    case pageError(PageDecodingError)
    case budgetExceeded
    case other(String)

    var label: String {
        switch self {
        case .decoded: return "decoded"
        case .walError(let e): return "wal:" + (Mirror(reflecting: e).children.first?.label ?? "\(e)")
        case .pageError(let e): return "page:" + "\(e.kind)".prefix(while: { $0 != "(" })
        case .budgetExceeded: return "budget"
        case .other(let s): return "other:\(s)"
        }
    }
}

/// A page source that gives up after a number of reads.
struct BudgetedPageSource<Base: PageSource>: PageSource {
    struct Exhausted: Error {}
    let base: Base
    let counter: Counter
    final class Counter { var remaining: Int; init(_ n: Int) { remaining = n } }
    var pageSize: Int { base.pageSize }
    var databaseSizeInPages: UInt32 { base.databaseSizeInPages }
    func page(_ number: UInt32) throws -> [UInt8] {
        counter.remaining -= 1
        if counter.remaining < 0 { throw Exhausted() }
        return try base.page(number)
    }
}

enum Pipeline {
    static func run(db: [UInt8], wal: [UInt8], random: inout SplitMix64, innerErrors: inout [String: Int]) -> PipelineOutcome {
        do {
            guard var reader = try WALReader(source: wal) else { return .decoded }
            let read = try reader.readCommittedTransactions(from: wal)
            let map = WALPageMap(read.transactions)
            guard !map.commits.isEmpty else { return .decoded }
            let commits = [map.commits.count - 1, Int(random.next() % UInt64(map.commits.count))]
            for c in commits {
                let snapshot = try WALSnapshotPageSource(file: db, wal: wal, walHeader: reader.position.header, pageMap: map, commit: map.commits[c])
                let pages = Int(min(snapshot.databaseSizeInPages, 100_000))
                let counter = BudgetedPageSource<WALSnapshotPageSource<[UInt8], [UInt8]>>.Counter(0)
                let source = BudgetedPageSource(base: snapshot, counter: counter)
                counter.remaining = 4 * (pages + 1)
                let walker = try BTreeWalker(source: source)
                let schema = try walker.schema()
                // Each walk visits a page at most once: (walks + 3) × size reads is the bound.
                counter.remaining = (schema.count + 4) * (pages + 1)
                for entry in schema where entry.rootPage > 0 {
                    do {
                        if try walker.pageType(of: entry.rootPage).isTable {
                            try walker.forEachTableRow(rootPage: entry.rootPage) { _ in }
                        } else {
                            try walker.forEachIndexEntry(rootPage: entry.rootPage) { _ in }
                        }
                    } catch let e as PageDecodingError { // one bad tree must not hide the others
                        innerErrors[PipelineOutcome.pageError(e).label, default: 0] += 1
                    }
                }
                _ = try? Freelist.read(from: source, header: walker.header)
                if walker.header.isAutoVacuum {
                    for p in UInt32(3)...UInt32(min(pages, 64)) + 2 { _ = try? PointerMap.entry(for: p, in: source, usableSize: walker.usableSize) }
                }
            }
            return .decoded
        } catch is BudgetedPageSource<WALSnapshotPageSource<[UInt8], [UInt8]>>.Exhausted {
            return .budgetExceeded
        } catch let e as WALDecodingError {
            return .walError(e)
        } catch let e as PageDecodingError {
            return .pageError(e)
        } catch {
            return .other("\(type(of: error))")
        }
    }
}

enum Mutator {
    /// Flips a bit, overwrites a byte with an interesting value, inserts or deletes bytes.
    static func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let i = Int(random.next() % UInt64(bytes.count))
        switch random.next() % 6 {
        case 0: bytes[i] ^= UInt8(1 << (random.next() % 8))
        case 1: bytes[i] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0x02, 0x05, 0x0A, 0x0D][Int(random.next() % 9)]
        case 2: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: i)
        case 3: bytes.remove(at: i)
        case 4: // a big-endian page number somewhere: small values make cycles and out-of-range links
            let v = UInt32(random.next() % 48)
            for k in 0..<4 where i + k < bytes.count { bytes[i + k] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * k)) }
        default: bytes.removeSubrange(i..<min(bytes.count, i + Int(random.next() % 64)))
        }
    }

    /// Mutates page data inside one WAL frame (header bytes untouched, so `resign` can fix sums).
    static func mutatePage(of wal: inout [UInt8], _ random: inout SplitMix64) {
        guard let header = try? WALHeader.decode(wal[...]) else { return }
        let frames = (wal.count - 32) / header.frameSize
        guard frames > 0 else { return }
        let frame = Int(random.next() % UInt64(frames))
        let base = header.offset(ofFrame: frame) + 24
        let hot = random.next() % 2 == 0 ? Int(random.next() % 16) : Int(random.next() % UInt64(header.pageSize))
        let i = base + hot
        switch random.next() % 3 {
        case 0: wal[i] ^= UInt8(1 << (random.next() % 8))
        case 1: wal[i] = UInt8(truncatingIfNeeded: random.next())
        default:
            let v = UInt32(random.next() % 48)
            for k in 0..<4 where i + k < base + header.pageSize { wal[i + k] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * k)) }
        }
    }

    /// Recomputes every frame checksum (§4.2) so mutated pages pass the WAL reader.
    static func resign(_ wal: inout [UInt8]) {
        guard let header = try? WALHeader.decode(wal[...]) else { return }
        var sum = header.checksum
        var offset = 32
        while offset + header.frameSize <= wal.count {
            sum = sum.adding(wal[offset..<(offset + 8)], isBigEndian: header.isBigEndianChecksum)
                .adding(wal[(offset + 24)..<(offset + header.frameSize)], isBigEndian: header.isBigEndianChecksum)
            for (k, v) in [sum.first, sum.second].enumerated() {
                for b in 0..<4 { wal[offset + 16 + 4 * k + b] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * b)) }
            }
            offset += header.frameSize
        }
    }
}

