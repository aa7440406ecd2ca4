import CDCCore
import CDCWAL

/// One row change decoded from a committed WAL transaction.
struct WALRowChange {
    var table: TableSchema
    var operation: Operation
    var key: [SQLiteValue]
    var before: [SQLiteValue]?
    var after: [SQLiteValue]?
}

/// Decodes a committed transaction's row changes from the page snapshots before and after it.
///
/// Tables are matched across the commit by name, else by root page (a renamed table keeps
/// its b-tree). A table rebuilt in one transaction (new table, copy, drop, rename: what
/// migration tools do) keeps its name, so its rows are compared by key and only real
/// differences are emitted. When a table's schema changed, old rows are read with the new
/// schema when their records allow it (ADD COLUMN and RENAME COLUMN leave records as they
/// are), else mapped by column name (DROP COLUMN rewrites them); events carry the new schema.
///
/// Order (docs/wal-capture.md): tables by name (bytewise), then rows by key.
enum WALTransactionDecoder {
    /// The row changes of one transaction.
    ///
    /// - Parameters:
    ///   - old: the pages at the previous commit; `new`: at this commit.
    ///   - oldTables, newTables: the captured tables at each.
    ///   - changedPages: the pages the transaction wrote.
    /// - Throws: ``PageDecodingError``, ``RowImageError``.
    static func changes(old: some PageSource, new: some PageSource, oldTables: [WALTable], newTables: [WALTable], changedPages: Set<UInt32>) throws -> [WALRowChange] {
        let oldWalker = try BTreeWalker(source: old)
        let newWalker = try BTreeWalker(source: new)
        let oldByName = Dictionary(oldTables.map { ($0.schema.name, $0) }, uniquingKeysWith: { a, _ in a })
        let oldByRoot = Dictionary(oldTables.map { ($0.rootPage, $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(newTables.map(\.schema.name))
        var out: [WALRowChange] = []
        for table in newTables {
            // By name; else a table whose name is gone but whose b-tree this is (a rename).
            let previous = oldByName[table.schema.name] ?? oldByRoot[table.rootPage].flatMap { newNames.contains($0.schema.name) ? nil : $0 }
            let before = try previous.map { try rows(of: $0, readAs: table, walker: oldWalker) } ?? []
            let after = try rows(of: table, readAs: table, walker: newWalker)
            var oldByKey: [[SQLiteValue]: [SQLiteValue]] = [:]
            for r in before { oldByKey[r.key] = r.image }
            var seen = Set<[SQLiteValue]>()
            for r in after {
                seen.insert(r.key)
                if let previous = oldByKey[r.key] {
                    if previous != r.image {
                        out.append(WALRowChange(table: table.schema, operation: .update, key: r.key, before: previous, after: r.image))
                    }
                } else {
                    out.append(WALRowChange(table: table.schema, operation: .insert, key: r.key, before: nil, after: r.image))
                }
            }
            for r in before where !seen.contains(r.key) {
                out.append(WALRowChange(table: table.schema, operation: .delete, key: r.key, before: r.image, after: nil))
            }
        }
        return out
    }

    /// Every row of `table`'s b-tree as (key, image), the image in `target`'s shape.
    private static func rows(of table: WALTable, readAs target: WALTable, walker: BTreeWalker<some PageSource>) throws -> [(key: [SQLiteValue], image: [SQLiteValue])] {
        var out: [(key: [SQLiteValue], image: [SQLiteValue])] = []
        let converter = ImageConverter(from: table, to: target)
        let keyIndices = target.schema.keyColumnIndices
        if table.layout.isWithoutRowID {
            try walker.forEachIndexEntry(rootPage: table.rootPage) { record in
                let image = try converter.image(record: record, rowid: nil)
                out.append((keyIndices.map { image[$0] }, image))
            }
        } else {
            try walker.forEachTableRow(rootPage: table.rootPage) { row in
                let image = try converter.image(record: row.values, rowid: row.rowid)
                out.append((target.schema.hasRowIDKey ? [.integer(row.rowid)] : keyIndices.map { image[$0] }, image))
            }
        }
        return out
    }
}

/// Turns records of one table version into images of another (the same, or the table's new
/// schema after a change in the transaction).
struct ImageConverter {
    let source: WALTable
    let target: WALTable
    /// For each target image column, the index in the source image (by name), if any.
    let byName: [Int?]

    init(from source: WALTable, to target: WALTable) {
        self.source = source
        self.target = target
        let names = Dictionary(source.schema.columns.enumerated().map { ($0.element.name.lowercased(), $0.offset) }, uniquingKeysWith: { a, _ in a })
        byName = target.schema.columns.map { names[$0.name.lowercased()] }
    }

    func image(record: [SQLiteValue], rowid: Int64?) throws -> [SQLiteValue] {
        if source.sql == target.sql || source.layout == target.layout { return try source.layout.image(ofRecord: record, rowid: rowid) }
        if source.layout.isWithoutRowID == target.layout.isWithoutRowID, record.count <= target.layout.storedFieldCount,
           source.layout.storedFieldCount <= target.layout.storedFieldCount {
            // ADD COLUMN / RENAME COLUMN: the records are untouched, and the new schema reads them.
            return try target.layout.image(ofRecord: record, rowid: rowid)
        }
        let old = try source.layout.image(ofRecord: record, rowid: rowid)
        let defaults = target.layout.imageColumns.map { target.layout.columns[$0].defaultValue }
        return byName.enumerated().map { i, j in j.map { old[$0] } ?? defaults[i] }
    }
}
