import CDCCore

/// The streaming path: a merge of full in-order walks of the old and the new tree.
extension TransactionDiff {
    /// Walks the old tree and the new tree side by side in key order, emitting deltas as it
    /// goes: memory is one page a level per walk plus one row each, whatever the tree's size.
    ///
    /// - Throws: ``PageDecodingError`` as the walks meet them; `.keysOutOfOrder` when a walk's
    ///   keys do not ascend in the tree's order (``DiffedTree/keyOrder``; a corrupt tree);
    ///   `emit`'s error.
    /// - Complexity: O(pages and rows of both trees).
    func stream(_ tree: DiffedTree, emit: (RowDelta) throws -> Void) throws {
        var before = try OrderedWalk(source: old, root: tree.rootBefore, tree: tree)
        var after = try OrderedWalk(source: new, root: tree.rootAfter, tree: tree)
        while true {
            switch (before.current, after.current) {
            case (nil, nil):
                return
            case let (b?, nil):
                try emit(RowDelta(key: b.key, before: b.values, after: nil))
                try before.advance()
            case let (nil, a?):
                try emit(RowDelta(key: a.key, before: nil, after: a.values))
                try after.advance()
            case let (b?, a?):
                let order = tree.compare(b.key, a.key)
                if order < 0 {
                    try emit(RowDelta(key: b.key, before: b.values, after: nil))
                    try before.advance()
                } else if order > 0 {
                    try emit(RowDelta(key: a.key, before: nil, after: a.values))
                    try after.advance()
                } else {
                    if b.values != a.values { try emit(RowDelta(key: b.key, before: b.values, after: a.values)) }
                    try before.advance()
                    try after.advance()
                }
            }
        }
    }
}

/// One side of the merge: a cursor (or nothing, for a tree that does not exist on this side)
/// with its current keyed entry, checking that keys strictly ascend.
private struct OrderedWalk<Source: PageSource> {
    private var cursor: BTreeCursor<Source>?
    private let tree: DiffedTree
    private(set) var current: (key: RowKey, values: [SQLiteValue])?

    init(source: Source, root: UInt32?, tree: DiffedTree) throws {
        self.tree = tree
        if let root {
            cursor = try BTreeCursor(source: source, rootPage: root, usableSize: try BTreeWalker(source: source).usableSize,
                                     isTable: tree.isTable)
        }
        try advance()
    }

    mutating func advance() throws {
        let previous = current?.key
        guard let entry = try cursor?.next() else { current = nil; return }
        let key = try tree.key(of: entry, pageNumber: 0)
        if let previous, tree.compare(previous, key) >= 0 { throw PageDecodingError(.keysOutOfOrder) }
        if tree.isTable, let layout = tree.rowImageLayout {
            current = (key, try layout.image(ofRecord: entry.values, rowid: entry.rowid))
        } else {
            current = (key, entry.values)
        }
    }
}
