import CDCCore
import CDCSQLite
import CDCTestSupport
@testable import CDCWAL
import XCTest

/// Real WAL files written by SQLite 3.40 (fixtures/wal/, scripts/make-wal-fixtures.py),
/// decoded and cross-checked against what libsqlite3 itself reads from the same files.
final class WALFixtureTests: XCTestCase {
    /// The reader finds exactly the commits SQLite made, where the file sizes said they end.
    func testCommittedTransactionsMatchWhatTheGeneratorRecorded() throws {
        for name in WALFixture.names {
            let f = try WALFixture(name)
            XCTAssertEqual(f.header.pageSize, f.expected["page_size"] as? Int, name)
            XCTAssertEqual(f.read.transactions.count, f.expected["committed_transactions"] as? Int, name)
            if let frames = f.expected["frames_after_commit"] as? [Int] {
                XCTAssertEqual(f.read.transactions.map { $0.commitFrameIndex + 1 }, frames, name)
            }
        }
    }

    /// Each damaged log ends exactly where the damage is, with the reason named.
    func testEachDamagedLogEndsAtItsDamage() throws {
        let rolledBack = try WALFixture("rolled-back")
        XCTAssertEqual(rolledBack.read.end, .endOfData)
        XCTAssertGreaterThan(rolledBack.read.uncommittedFrameCount, 0, "the rolled-back frames are seen but not returned")

        let truncated = try WALFixture("truncated-last-frame")
        guard case .partialFrame(let index, _) = truncated.read.end else { return XCTFail("\(truncated.read.end)") }
        XCTAssertEqual(index, (truncated.wal.count - 32) / (1024 + 24))

        let flipped = try WALFixture("flipped-byte")
        let frame = try XCTUnwrap(flipped.expected["flipped_frame"] as? Int)
        XCTAssertEqual(flipped.read.end, .checksumMismatch(frameIndex: frame, offset: 32 + frame * (1024 + 24)))

        let restarted = try WALFixture("restarted")
        let newFrames = (restarted.read.transactions.last?.commitFrameIndex ?? -1) + 1
        XCTAssertEqual(restarted.read.end, .saltMismatch(frameIndex: newFrames, offset: 32 + newFrames * (1024 + 24)))
        XCTAssertGreaterThan(restarted.expected["old_generation_frames"] as? Int ?? 0, newFrames)
        XCTAssertGreaterThan(restarted.header.checkpointSequence, 0, "a reset adds one to the sequence")
    }

    /// At every commit, the page map's snapshot gives each table the row count SQLite had then.
    func testRowCountsAtEveryIntermediateCommit() throws {
        for name in WALFixture.names {
            let f = try WALFixture(name)
            XCTAssertEqual(f.rowCounts.count, f.read.transactions.count, name)
            for (i, counts) in f.rowCounts.enumerated() where i < f.pageMap.commits.count {
                let walker = try BTreeWalker(source: try f.snapshot(at: i))
                var decoded: [String: Int] = [:]
                for entry in try walker.schema() where entry.type == "table" && !entry.name.hasPrefix("sqlite_") {
                    let type = try walker.pageType(of: entry.rootPage)
                    decoded[entry.name] = type.isTable ? try walker.tableRows(rootPage: entry.rootPage).count
                        : try walker.indexEntries(rootPage: entry.rootPage).count
                }
                XCTAssertEqual(decoded, counts, "\(name) after commit \(i)")
            }
        }
    }

    /// At the last commit, every table's decoded rows equal libsqlite3's, value and storage
    /// class exactly, in the same order; every index entry matches too.
    func testRowsAtTheLastCommitEqualLibsqlite3() throws {
        for name in WALFixture.names {
            let f = try WALFixture(name)
            let dir = try TemporaryDirectory(prefix: "wal-xcheck")
            let connection = try f.openWithSQLite(in: dir)
            defer { try? connection.close() }
            let source = try f.snapshot(at: f.pageMap.commits.count - 1)
            let walker = try BTreeWalker(source: source)
            XCTAssertEqual(Int64(source.databaseSizeInPages), try connection.scalar("PRAGMA page_count").flatMap(intValue), name)
            let schema = try walker.schema()
            let sqliteTables = try connection.query("SELECT name, rootpage FROM sqlite_schema WHERE type IN ('table', 'index') ORDER BY name")
            XCTAssertEqual(schema.filter { $0.type == "table" || $0.type == "index" }.sorted { $0.name < $1.name }
                .map { [SQLiteValue.string($0.name), .integer(Int64($0.rootPage))] }, sqliteTables, name)
            var tablesChecked = 0
            for entry in schema where entry.type == "table" && !entry.name.hasPrefix("sqlite_") {
                let view = try TableView(name: entry.name, connection: connection)
                let expected = try connection.query(view.selectSQL)
                let decoded = try view.decodedRows(walker: walker, rootPage: entry.rootPage, connection: connection)
                XCTAssertEqual(decoded.count, expected.count, "\(name).\(entry.name)")
                XCTAssertTrue(decoded == expected, "\(name).\(entry.name): decoded rows differ from libsqlite3's")
                for (i, (d, e)) in zip(decoded, expected).enumerated() where d != e {
                    XCTFail("\(name).\(entry.name) row \(i): decoded \(d.map(debugValue)) but libsqlite3 \(e.map(debugValue))")
                }
                tablesChecked += 1
            }
            XCTAssertGreaterThan(tablesChecked, 0, name)
            for entry in schema where entry.type == "index" && !entry.name.hasPrefix("sqlite_autoindex") {
                let entries = try walker.indexEntries(rootPage: entry.rootPage)
                let expected = try connection.query("SELECT tag, rowid FROM \"\(entry.tableName)\" ORDER BY tag, rowid")
                XCTAssertTrue(entries == expected, "\(name) index \(entry.name)")
            }
        }
    }

    /// The freelist matches the header and PRAGMA freelist_count; an auto-vacuum database's
    /// pointer map names each table's root page as a root.
    func testFreelistAndPointerMapAgreeWithLibsqlite3() throws {
        for name in WALFixture.names {
            let f = try WALFixture(name)
            let dir = try TemporaryDirectory(prefix: "wal-free")
            let connection = try f.openWithSQLite(in: dir)
            defer { try? connection.close() }
            let source = try f.snapshot(at: f.pageMap.commits.count - 1)
            let walker = try BTreeWalker(source: source)
            let freelist = try Freelist.read(from: source, header: walker.header)
            XCTAssertEqual(freelist.pageCount, Int(walker.header.freelistPageCount), name)
            XCTAssertEqual(Int64(freelist.pageCount), try connection.scalar("PRAGMA freelist_count").flatMap(intValue), name)
            let autoVacuum = try connection.scalar("PRAGMA auto_vacuum").flatMap(intValue) ?? 0
            XCTAssertEqual(walker.header.isAutoVacuum, autoVacuum != 0, name)
            guard walker.header.isAutoVacuum else { continue }
            XCTAssertTrue(PointerMap.isMapPage(2, usableSize: walker.usableSize, pageSize: source.pageSize))
            for entry in try walker.schema() where entry.rootPage > 1 {
                let e = try PointerMap.entry(for: entry.rootPage, in: source, usableSize: walker.usableSize)
                XCTAssertEqual(e.type, .rootPage, "\(name) \(entry.name)")
            }
            for leaf in freelist.leafPages + freelist.trunkPages {
                XCTAssertEqual(try PointerMap.entry(for: leaf, in: source, usableSize: walker.usableSize).type, .freePage)
            }
        }
    }

    /// Headers from the database file: page sizes 512 and 65536 (stored as 1), UTF-8.
    func testDatabaseHeadersOfTheFixtures() throws {
        for (name, size) in [("page-size-512", 512), ("page-size-65536", 65536), ("simple", 4096)] {
            let f = try WALFixture(name)
            let fileHeader = try XCTUnwrap(try DatabaseHeader.decode(f.db[...]))
            XCTAssertEqual(fileHeader.pageSize, size)
            XCTAssertEqual(fileHeader.writeVersion, 2, "WAL mode")
            // The file's page 1 predates the first table (encoding still 0); the WAL's has it.
            let header = try BTreeWalker(source: try f.snapshot(at: f.pageMap.commits.count - 1)).header
            XCTAssertEqual(header.textEncoding, 1)
            XCTAssertEqual(header.usableSize, size - header.reservedBytesPerPage)
        }
        var utf16 = try WALFixture("simple").db
        utf16[59] = 2 // offset 56, big-endian: encoding 2, UTF-16le
        XCTAssertThrowsError(try DatabaseHeader.decode(utf16[...])) {
            XCTAssertEqual(($0 as? PageDecodingError)?.kind, .unsupportedTextEncoding(2))
        }
    }
}

private func intValue(_ v: SQLiteValue) -> Int64? {
    if case .integer(let i) = v { return i }
    return nil
}

/// A test-only rendering with the value itself (fixture data is synthetic, never personal).
func debugValue(_ v: SQLiteValue) -> String {
    switch v {
    case .null: return "NULL"
    case .integer(let i): return "int \(i)"
    case .real(let d): return "real \(d) (bits \(d.bitPattern))"
    case .text(let b): return "text \(String(decoding: b, as: UTF8.self).prefix(40))"
    case .blob(let b): return "blob \(b.count)"
    }
}
