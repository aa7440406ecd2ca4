import CDCCore
import Foundation

/// The affected-pages path: the cells of the old and new versions of the affected pages,
/// joined by key, decoded only where they differ.
///
/// Most cells of an affected page are unchanged (an insert at the end of the last leaf
/// rewrites the page with every earlier row on it), so cells are first compared as bytes:
/// a row whose key and whole payload (local part and overflow chain) are identical on both
/// sides has identical values, and is not decoded. Only the rest are decoded, and then
/// compared by value as before: two different encodings of the same values are still no
/// change.
///
/// On a corrupt page, an unchanged row is not decoded, so a damaged record on both sides
/// goes unnoticed here (the streaming path and the full walks still decode every row).
extension TransactionDiff {
    /// The deltas of one tree from the given page versions, in key order.
    func deltas(of tree: DiffedTree, beforePages: [UInt32], afterPages: [UInt32]) throws -> [RowDelta] {
        let before = try cells(onPages: beforePages, of: tree, in: old)
        let after = try cells(onPages: afterPages, of: tree, in: new)
        switch tree.kind {
        case .table: return try AffectedCellJoin.tableDeltas(before: before, after: after, layout: tree.rowImageLayout)
        case .withoutRowID: return try AffectedCellJoin.keyedDeltas(before: before, after: after, tree: tree)
        }
    }

    /// The cells (table leaves) or entries (index leaves and interior pages) on `pages` of
    /// `source`, in page then cell order.
    ///
    /// - Throws: ``PageDecodingError`` for an invalid page, cell or overflow chain, or
    ///   `.cycle` when the chains read more pages than the snapshot has.
    private func cells(onPages pages: [UInt32], of tree: DiffedTree, in source: some PageSource) throws -> [DiffCell] {
        var out: [DiffCell] = []
        guard !pages.isEmpty else { return out }
        let usableSize = try BTreeWalker(source: source).usableSize
        let maximumPayload = Int(source.databaseSizeInPages) * source.pageSize
        var readsLeft = Int(source.databaseSizeInPages)
        for number in pages {
            let page = try BTreePage.decode(number, bytes: try source.page(number), usableSize: usableSize, isTable: tree.isTable)
            guard page.type != .tableInterior else { continue }
            try page.forEachCell(maximumPayloadSize: maximumPayload) { _, offset, layout in
                var payload = page.bytes[layout.localStart..<(layout.localStart + layout.localCount)]
                if layout.localCount < layout.payloadSize {
                    let cell = BTreeCell(page: page, layout: layout)
                    payload = try OverflowChain.payload(of: cell, pageNumber: number, usableSize: usableSize) {
                        readsLeft -= 1 // each overflow page belongs to one cell: more reads mean a shared page
                        guard readsLeft >= 0 else { throw PageDecodingError(.cycle, pageNumber: $0) }
                        return try source.page($0)
                    }[...]
                }
                out.append(DiffCell(rowid: layout.rowid, payload: payload, pageNumber: number, offset: offset))
            }
        }
        return out
    }
}

/// One cell of an affected page version, its overflow chain joined.
struct DiffCell {
    /// The rowid (table trees); 0 for index cells.
    var rowid: Int64
    /// The whole payload: a slice of the page when it is all local.
    var payload: ArraySlice<UInt8>
    /// Where the cell is, for errors.
    var pageNumber: UInt32
    var offset: Int

    /// The decoded record.
    func decode() throws -> [SQLiteValue] {
        try Record.decode(payload, pageNumber: pageNumber)
    }

    /// The decoded record, or with `layout` the row's image (rowid tables).
    func decode(layout: RowImageLayout?) throws -> [SQLiteValue] {
        guard let layout else { return try decode() }
        return try layout.image(ofPayload: payload, rowid: rowid, pageNumber: pageNumber)
    }
}

/// The join of the old and new cells of one tree's affected pages (not generic over the page
/// sources, so that it runs as plain code whatever the caller's source types).
enum AffectedCellJoin {
    /// A table tree: join by rowid (from the cell header, no decoding), then decode only the
    /// rows that are new, gone, or whose payload bytes differ.
    /// - Returns: the deltas in rowid order.
    /// - Throws: ``PageDecodingError`` `.duplicateKey`, or a record's decoding error.
    /// - Parameter layout: when given, deltas carry row images in it instead of records.
    static func tableDeltas(before: [DiffCell], after: [DiffCell], layout: RowImageLayout? = nil) throws -> [RowDelta] {
        let b = try sortedByRowid(before), a = try sortedByRowid(after)
        var out: [RowDelta] = []
        var i = 0, j = 0
        while i < b.count || j < a.count {
            if j == a.count || (i < b.count && b[i].rowid < a[j].rowid) {
                out.append(RowDelta(key: .rowid(b[i].rowid), before: try b[i].decode(layout: layout), after: nil))
                i += 1
            } else if i == b.count || a[j].rowid < b[i].rowid {
                out.append(RowDelta(key: .rowid(a[j].rowid), before: nil, after: try a[j].decode(layout: layout)))
                j += 1
            } else {
                if !bytesEqual(b[i].payload, a[j].payload) {
                    let was = try b[i].decode(layout: layout), now = try a[j].decode(layout: layout)
                    if was != now { out.append(RowDelta(key: .rowid(b[i].rowid), before: was, after: now)) }
                }
                i += 1
                j += 1
            }
        }
        return out
    }

    /// The cells sorted by rowid (usually they already are: pages of a growing table are
    /// appended in order).
    /// - Throws: `.duplicateKey` at the cell that repeats a rowid first in page order.
    /// - Complexity: O(n) when sorted, else O(n log n).
    static func sortedByRowid(_ cells: [DiffCell]) throws -> [DiffCell] {
        if zip(cells, cells.dropFirst()).allSatisfy({ $0.rowid < $1.rowid }) { return cells }
        var order = Array(cells.indices)
        order.sort { cells[$0].rowid != cells[$1].rowid ? cells[$0].rowid < cells[$1].rowid : $0 < $1 }
        var repeated: Int?
        for k in order.indices.dropFirst() where cells[order[k]].rowid == cells[order[k - 1]].rowid {
            repeated = min(repeated ?? order[k], order[k])
        }
        if let r = repeated {
            throw PageDecodingError(.duplicateKey, pageNumber: cells[r].pageNumber, offset: cells[r].offset)
        }
        return order.map { cells[$0] }
    }

    /// A WITHOUT ROWID tree, whose key is inside the record: entries with the same payload
    /// bytes on both sides (once on each) are the same row unchanged and are dropped; the
    /// rest are decoded and joined by key.
    /// - Returns: the deltas in ``RowKey`` order.
    /// - Throws: ``PageDecodingError`` `.duplicateKey`, `.keyFieldsMissing`, or a record's
    ///   decoding error.
    static func keyedDeltas(before: [DiffCell], after: [DiffCell], tree: DiffedTree) throws -> [RowDelta] {
        let (b, a) = droppingIdentical(before, after)
        var rowsAfter: [RowKey: [SQLiteValue]] = [:]
        var rowsBefore: [(RowKey, [SQLiteValue])] = []
        var keysBefore = Set<RowKey>()
        for cell in b {
            let values = try cell.decode()
            let key = try tree.key(of: BTreeEntry(rowid: cell.rowid, values: values), pageNumber: cell.pageNumber)
            guard keysBefore.insert(key).inserted else { throw PageDecodingError(.duplicateKey, pageNumber: cell.pageNumber, offset: cell.offset) }
            rowsBefore.append((key, values))
        }
        for cell in a {
            let values = try cell.decode()
            let key = try tree.key(of: BTreeEntry(rowid: cell.rowid, values: values), pageNumber: cell.pageNumber)
            guard rowsAfter.updateValue(values, forKey: key) == nil else {
                throw PageDecodingError(.duplicateKey, pageNumber: cell.pageNumber, offset: cell.offset)
            }
        }
        var out: [RowDelta] = []
        for (key, values) in rowsBefore {
            if let now = rowsAfter.removeValue(forKey: key) {
                if now != values { out.append(RowDelta(key: key, before: values, after: now)) }
            } else {
                out.append(RowDelta(key: key, before: values, after: nil))
            }
        }
        for (key, values) in rowsAfter { out.append(RowDelta(key: key, before: nil, after: values)) }
        out.sort { $0.key < $1.key }
        return out
    }

    /// `before` and `after` without the payloads found exactly once on each side.
    static func droppingIdentical(_ before: [DiffCell], _ after: [DiffCell]) -> ([DiffCell], [DiffCell]) {
        var counts: [ArraySlice<UInt8>: (before: Int, after: Int)] = [:]
        for cell in before { counts[cell.payload, default: (0, 0)].before += 1 }
        for cell in after { counts[cell.payload, default: (0, 0)].after += 1 }
        func isUnchanged(_ cell: DiffCell) -> Bool { counts[cell.payload].map { $0.before == 1 && $0.after == 1 } ?? false }
        return (before.filter { !isUnchanged($0) }, after.filter { !isUnchanged($0) })
    }

    /// Whether two payloads hold the same bytes (memcmp).
    static func bytesEqual(_ x: ArraySlice<UInt8>, _ y: ArraySlice<UInt8>) -> Bool {
        guard x.count == y.count else { return false }
        return x.withUnsafeBytes { p in
            y.withUnsafeBytes { q in
                guard let p = p.baseAddress, let q = q.baseAddress else { return true } // both empty
                return memcmp(p, q, x.count) == 0
            }
        }
    }
}
