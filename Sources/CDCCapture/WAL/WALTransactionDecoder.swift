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
        var out: [WALRowChange] = []
        for table in newTables {
            let before = try oldByName[table.schema.name].map { try rows(of: $0, walker: oldWalker) } ?? []
            let after = try rows(of: table, walker: newWalker)
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

    /// Every row of a table as (key, image).
    private static func rows(of table: WALTable, walker: BTreeWalker<some PageSource>) throws -> [(key: [SQLiteValue], image: [SQLiteValue])] {
        var out: [(key: [SQLiteValue], image: [SQLiteValue])] = []
        let keyIndices = table.schema.keyColumnIndices
        if table.layout.isWithoutRowID {
            try walker.forEachIndexEntry(rootPage: table.rootPage) { record in
                let image = try table.layout.image(ofRecord: record, rowid: nil)
                out.append((keyIndices.map { image[$0] }, image))
            }
        } else {
            try walker.forEachTableRow(rootPage: table.rootPage) { row in
                let image = try table.layout.image(ofRecord: row.values, rowid: row.rowid)
                out.append((table.schema.hasRowIDKey ? [.integer(row.rowid)] : keyIndices.map { image[$0] }, image))
            }
        }
        return out
    }
}
