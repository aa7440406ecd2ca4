import CDCCore
import CDCSQLite
import CDCTestSupport
@testable import CDCWAL
import Foundation
import XCTest

/// One folder of fixtures/wal/ (written by scripts/make-wal-fixtures.py) with its decoded WAL.
struct WALFixture {
    let name: String
    let folder: URL
    let db: [UInt8]
    let wal: [UInt8]
    let expected: [String: Any]
    let header: WALHeader
    let read: WALReadResult
    let pageMap: WALPageMap

    static let names = ["simple", "page-size-512", "page-size-65536", "overflow", "without-rowid", "auto-vacuum-full",
                        "rolled-back", "truncated-last-frame", "flipped-byte", "restarted"]

    init(_ name: String) throws {
        self.name = name
        folder = Products.fixturesDirectory.appendingPathComponent("wal").appendingPathComponent(name)
        db = [UInt8](try Data(contentsOf: folder.appendingPathComponent("db")))
        wal = [UInt8](try Data(contentsOf: folder.appendingPathComponent("db-wal")))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        expected = try XCTUnwrap(json as? [String: Any])
        var reader = try XCTUnwrap(try WALReader(source: wal), "\(name): no WAL header")
        header = reader.position.header
        read = try reader.readCommittedTransactions(from: wal)
        pageMap = WALPageMap(read.transactions)
    }

    var rowCounts: [[String: Int]] { (expected["row_counts"] as? [[String: Int]]) ?? [] }

    /// The snapshot a reader sees at committed transaction `index` (0-based).
    func snapshot(at index: Int) throws -> WALSnapshotPageSource<[UInt8], [UInt8]> {
        try WALSnapshotPageSource(file: db, wal: wal, walHeader: header, pageMap: pageMap, commit: pageMap.commits[index])
    }

    /// Copies db and db-wal to a temporary folder and opens them with libsqlite3 (which runs
    /// its own WAL recovery on the copy).
    func openWithSQLite(in dir: TemporaryDirectory) throws -> Connection {
        let path = dir.path("db")
        try Data(db).write(to: URL(fileURLWithPath: path))
        try Data(wal).write(to: URL(fileURLWithPath: path + "-wal"))
        return try Connection(path: path)
    }
}

/// Decodes every row of a table as libsqlite3's `SELECT` shows it, from the walker's output:
/// the INTEGER PRIMARY KEY column gets the rowid, short records get the declared defaults.
struct TableView {
    let name: String
    let isWithoutRowID: Bool
    let columns: [(name: String, type: String, pk: Int, defaultSQL: String?)]

    init(name: String, connection: Connection) throws {
        self.name = name
        let rows = try connection.query("SELECT name, type, pk, dflt_value FROM pragma_table_info(?) ORDER BY cid", [SQLiteValue.string(name)])
        var columns: [(name: String, type: String, pk: Int, defaultSQL: String?)] = []
        for row in rows {
            var pk = 0
            if case .integer(let v) = row[2] { pk = Int(v) }
            columns.append((row[0].stringValue ?? "", row[1].stringValue ?? "", pk, row[3].stringValue))
        }
        self.columns = columns
        let wr = try connection.scalar("SELECT wr FROM pragma_table_list WHERE schema='main' AND name=?", [SQLiteValue.string(name)])
        isWithoutRowID = wr == .integer(1)
    }

    /// The index of the rowid-alias column (INTEGER PRIMARY KEY), if any.
    var rowIDAliasIndex: Int? {
        let pks = columns.indices.filter { columns[$0].pk > 0 }
        guard !isWithoutRowID, pks.count == 1, columns[pks[0]].type.uppercased() == "INTEGER" else { return nil }
        return pks[0]
    }

    private func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// The SELECT whose rows must equal the decoded rows, in b-tree order.
    var selectSQL: String {
        if isWithoutRowID {
            let pk = columns.filter { $0.pk > 0 }.sorted { $0.pk < $1.pk } + columns.filter { $0.pk == 0 }
            return "SELECT \(pk.map { quoted($0.name) }.joined(separator: ", ")) FROM \(quoted(name))"
        }
        return "SELECT rowid, \(columns.map { quoted($0.name) }.joined(separator: ", ")) FROM \(quoted(name))"
    }

    /// The rows decoded by `walker`, shaped like `selectSQL`'s rows.
    func decodedRows(walker: BTreeWalker<some PageSource>, rootPage: UInt32, connection: Connection) throws -> [[SQLiteValue]] {
        if isWithoutRowID {
            let order = columns.filter { $0.pk > 0 }.sorted { $0.pk < $1.pk } + columns.filter { $0.pk == 0 }
            return try walker.indexEntries(rootPage: rootPage).map { entry in
                entry.enumerated().map { i, v in i < order.count ? ColumnAffinity(declaredType: order[i].type).realizing(v) : v }
            }
        }
        let defaults = try columns.map { c -> SQLiteValue in
            guard let sql = c.defaultSQL else { return .null }
            return try connection.scalar("SELECT \(sql)") ?? .null
        }
        return try walker.tableRows(rootPage: rootPage).map { row in
            var values = row.values
            if values.count < columns.count { values += defaults[values.count...] }
            if let alias = rowIDAliasIndex, alias < values.count { values[alias] = .integer(row.rowid) }
            for i in values.indices where i < columns.count {
                values[i] = ColumnAffinity(declaredType: columns[i].type).realizing(values[i])
            }
            return [.integer(row.rowid)] + values
        }
    }
}
