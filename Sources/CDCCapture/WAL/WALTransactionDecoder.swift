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
/// The normal path reads only the pages the transaction touched (``TransactionDiff`` over the
/// ``PageOwnership`` map). Tables are matched across the commit by name, else by root page
/// (a renamed table keeps its b-tree). A table rebuilt in one transaction (new table, copy,
/// drop, rename: what migration tools do) keeps its name, so its rows are compared by key
/// and only real differences are emitted. When a table's schema changed, old rows are read
/// with the new schema when their records allow it (ADD COLUMN and RENAME COLUMN leave records
/// as they are), else mapped by column name (DROP COLUMN rewrites them); events carry the new
/// schema, and a row whose image is the same after that mapping is not reported.
///
/// Order (docs/wal-capture.md): tables by name (bytewise), then rows by key.
enum WALTransactionDecoder {
    /// Emits the row changes of one transaction, table by table, each table's in key order.
    /// - Returns: the tables that are another b-tree with another key under the same name
    ///   (dropped and created again, or swapped in by a rename): their rows cannot be compared
    ///   by key, so the caller replaces them (a drop, a create and a snapshot epoch).
    /// Memory: the page diff's (bounded by its affected-page budget, then streaming), except
    /// for a table whose key order is not BINARY (``WALTable/hasBinaryKeyOrder``), compared
    /// in memory.
    ///
    /// - Parameters:
    ///   - old: the pages at the previous commit; `new`: at this commit.
    ///   - affectedPageBudget: a table with more affected pages than this is diffed by the
    ///     streaming merge (memory: a page per tree level) instead of in memory (memory: the
    ///     decoded rows of its affected pages, old and new).
    ///   - emit: called with each change, in order.
    ///   - ownership: the page map after ``PageOwnership/apply(changedPages:old:new:roots:rebuildThreshold:)``
    ///     for this transaction, and `ownershipChanges` what that apply returned.
    ///   - oldTables, newTables: the captured tables at each.
    /// - Throws: ``PageDecodingError``, ``RowImageError``.
    static func decode<Old: PageSource, New: PageSource>(old: Old, new: New, ownership: PageOwnership, ownershipChanges: PageOwnership.Changes,
                                                         oldTables: [WALTable], newTables: [WALTable],
                                                         affectedPageBudget: Int = 1_024,
                                                         emit: (WALRowChange) throws -> Void) throws -> Set<String> {
        var diff = TransactionDiff(old: old, new: new, ownership: ownership, changes: ownershipChanges)
        diff.affectedPageBudget = affectedPageBudget
        // Most transactions change no schema: then each table is its own previous version, and
        // the lookups by name and root are not needed.
        let schemaUnchanged = oldTables.elementsEqual(newTables) {
            $0.rootPage == $1.rootPage && $0.schema.version == $1.schema.version && $0.sql == $1.sql && $0.schema.name == $1.schema.name
        }
        let oldByName = schemaUnchanged ? [:] : Dictionary(oldTables.map { ($0.schema.name, $0) }, uniquingKeysWith: { a, _ in a })
        let oldByRoot = schemaUnchanged ? [:] : Dictionary(oldTables.map { ($0.rootPage, $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = schemaUnchanged ? [] : Set(newTables.map(\.schema.name))
        var replaced = Set<String>()
        // The tables on the same root page as before: one pass over the changed pages tells
        // which of them the transaction touched (a service has many tables, a transaction
        // usually writes few), instead of one pass per table.
        let stayedRoots = newTables.filter { schemaUnchanged || oldByName[$0.schema.name]?.rootPage == $0.rootPage }
            .map { DiffedTree(rootPage: $0.rootPage, kind: treeKind(of: $0)) }
        let touched = try diff.affectsTrees(stayedRoots)
        let untouchedRoots = Set(zip(stayedRoots, touched).filter { !$0.1 }.compactMap(\.0.rootAfter))
        for table in newTables {
            // By name; else a table whose name is gone but whose b-tree this is (a rename).
            let previous = schemaUnchanged ? table
                : oldByName[table.schema.name] ?? oldByRoot[table.rootPage].flatMap { newNames.contains($0.schema.name) ? nil : $0 }
            let kind = treeKind(of: table)
            if let previous, table.replaces(previous) {
                replaced.insert(table.schema.name)
                continue
            }
            if (!table.hasBinaryKeyOrder && table.keyOrder == nil) || (previous.map { $0.keyOrder != table.keyOrder } ?? false) {
                // A WITHOUT ROWID key in a collation other than SQLite's built-in ones (the
                // streaming merge cannot follow its order), or a key order that changed with
                // the schema: compare in memory.
                for change in try fullComparison(old: old, new: new, previous: previous, table: table) { try emit(change) }
                continue
            }
            // Same root, no affected page: no row of it changed (a schema change alone emits
            // no row changes: docs/wal-capture.md).
            if let previous, previous.rootPage == table.rootPage, untouchedRoots.contains(table.rootPage) { continue }
            var tree = DiffedTree(rootBefore: previous?.rootPage, rootAfter: table.rootPage, kind: kind)
            tree.keyOrder = table.keyOrder
            let before = ImageConverter(from: previous ?? table, to: table)
            let after = ImageConverter(from: table, to: table)
            // Both sides read alike (the usual case): the diff decodes pages straight into images.
            let decodesImages = kind == .table && before.isSameLayout
            if decodesImages { tree.rowImageLayout = table.layout }
            var pass = diff
            if let previous, previous.rootPage != table.rootPage {
                // Another root under the same name and key: auto-vacuum moved it, or the table
                // was rebuilt or swapped in (DROP + RENAME writes none of the new tree's pages,
                // so the affected pages would miss its rows). Merging full walks of both trees
                // gives exactly the rows that differ.
                pass.affectedPageBudget = -1
            }
            let keyColumns = table.schema.keyColumnIndices // computed, so once per table, not per row
            try pass.run(trees: [tree]) { _, delta in
                let rowid: Int64? = if case .rowid(let r) = delta.key { r } else { nil }
                let b = try decodesImages ? delta.before : delta.before.map { try before.image(record: $0, rowid: rowid) }
                let a = try decodesImages ? delta.after : delta.after.map { try after.image(record: $0, rowid: rowid) }
                if let change = WALRowChange(table: table, keyColumns: keyColumns, rowid: rowid, before: b, after: a) { try emit(change) }
            }
        }
        return replaced
    }

    /// How a table's b-tree is keyed.
    static func treeKind(of table: WALTable) -> DiffedTree.Kind {
        table.layout.isWithoutRowID ? .withoutRowID(primaryKeyFieldCount: table.layout.keyFieldCount) : .table
    }

    /// Compares every row of the table before and after, by key, in memory: the fallback when
    /// the page diff cannot be used. Memory O(rows of the table).
    static func fullComparison(old: some PageSource, new: some PageSource, previous: WALTable?, table: WALTable) throws -> [WALRowChange] {
        let before = try previous.map { try rows(of: $0, readAs: table, walker: try BTreeWalker(source: old)) } ?? []
        let after = try rows(of: table, readAs: table, walker: try BTreeWalker(source: new))
        var oldByKey: [[SQLiteValue]: [SQLiteValue]] = [:]
        for r in before { oldByKey[r.key] = r.image }
        var out: [WALRowChange] = []
        var seen = Set<[SQLiteValue]>()
        for r in after {
            seen.insert(r.key)
            if let change = WALRowChange(table: table, key: r.key, before: oldByKey[r.key], after: r.image) { out.append(change) }
        }
        for r in before where !seen.contains(r.key) {
            out.append(WALRowChange(table: table.schema, operation: .delete, key: r.key, before: r.image, after: nil))
        }
        return out
    }

    /// Every row of `table`'s b-tree as (key, image), the image in `target`'s shape.
    private static func rows(of table: WALTable, readAs target: WALTable, walker: BTreeWalker<some PageSource>) throws -> [(key: [SQLiteValue], image: [SQLiteValue])] {
        var out: [(key: [SQLiteValue], image: [SQLiteValue])] = []
        let converter = ImageConverter(from: table, to: target)
        if table.layout.isWithoutRowID {
            try walker.forEachIndexEntry(rootPage: table.rootPage) { record in
                let image = try converter.image(record: record, rowid: nil)
                out.append((WALRowChange.key(of: target, rowid: nil, image: image), image))
            }
        } else {
            try walker.forEachTableRow(rootPage: table.rootPage) { row in
                let image = try converter.image(record: row.values, rowid: row.rowid)
                out.append((WALRowChange.key(of: target, rowid: row.rowid, image: image), image))
            }
        }
        return out
    }
}

extension WALRowChange {
    /// The event key of a row: its rowid for a table keyed by rowid, else its key columns.
    static func key(of table: WALTable, rowid: Int64?, image: [SQLiteValue]) -> [SQLiteValue] {
        key(keyColumns: table.schema.keyColumnIndices, rowid: rowid, image: image)
    }

    /// The event key of a row of a table whose ``TableSchema/keyColumnIndices`` are
    /// `keyColumns` (empty: keyed by rowid).
    static func key(keyColumns: [Int], rowid: Int64?, image: [SQLiteValue]) -> [SQLiteValue] {
        if keyColumns.isEmpty, let rowid { return [.integer(rowid)] }
        return keyColumns.map { $0 < image.count ? image[$0] : .null }
    }

    /// The change between two images of one key, or `nil` when there is none.
    /// - Parameter keyColumns: `table.schema.keyColumnIndices`, computed once by the caller.
    init?(table: WALTable, keyColumns: [Int], rowid: Int64?, before: [SQLiteValue]?, after: [SQLiteValue]?) {
        // An update keeps the old key (a rowid table's primary-key columns may change while
        // its rowid stays): the same convention as the change-table mode.
        guard let image = before ?? after else { return nil }
        self.init(table: table, key: WALRowChange.key(keyColumns: keyColumns, rowid: rowid, image: image), before: before, after: after)
    }

    init?(table: WALTable, key: [SQLiteValue], before: [SQLiteValue]?, after: [SQLiteValue]?) {
        switch (before, after) {
        case (nil, nil): return nil
        case (let b?, let a?):
            if b == a { return nil }
            self.init(table: table.schema, operation: .update, key: key, before: b, after: a)
        case (nil, let a?): self.init(table: table.schema, operation: .insert, key: key, before: nil, after: a)
        case (let b?, nil): self.init(table: table.schema, operation: .delete, key: key, before: b, after: nil)
        }
    }
}

/// Turns records of one table version into images of another (the same, or the table's new
/// schema after a change in the transaction).
///
/// Holds the two layouts, not the tables: it is made per table per transaction, and a table
/// is a dozen references to retain.
struct ImageConverter {
    let source: RowImageLayout
    let target: RowImageLayout
    /// Whether both versions are the same b-tree (the same root page).
    let isSameTree: Bool
    /// For each target image column, the index in the source image (by name), if any;
    /// empty when ``isSameLayout`` (only a changed schema maps by name).
    let byName: [Int?]
    /// Whether both versions read records alike (decided once, not per row).
    let isSameLayout: Bool

    init(from source: WALTable, to target: WALTable) {
        self.source = source.layout
        self.target = target.layout
        isSameTree = source.rootPage == target.rootPage
        isSameLayout = source.sql == target.sql || source.layout == target.layout
        if isSameLayout {
            byName = []
        } else {
            let names = Dictionary(source.schema.columns.enumerated().map { ($0.element.name.lowercased(), $0.offset) }, uniquingKeysWith: { a, _ in a })
            byName = target.schema.columns.map { names[$0.name.lowercased()] }
        }
    }

    func image(record: [SQLiteValue], rowid: Int64?) throws -> [SQLiteValue] {
        if isSameLayout { return try source.image(ofRecord: record, rowid: rowid) }
        if isSameTree, source.isWithoutRowID == target.isWithoutRowID,
           record.count <= target.storedFieldCount, source.storedFieldCount <= target.storedFieldCount {
            // ADD COLUMN / RENAME COLUMN on the same b-tree: the records are untouched, and the
            // new schema reads them. (Records of another b-tree, a table swapped in under this
            // name, are mapped by column name below.)
            return try target.image(ofRecord: record, rowid: rowid)
        }
        let old = try source.image(ofRecord: record, rowid: rowid)
        let defaults = target.imageColumns.map { target.columns[$0].defaultValue }
        return byName.enumerated().map { i, j in j.map { old[$0] } ?? defaults[i] }
    }
}
