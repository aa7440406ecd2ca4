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
    /// One cell of an affected page version, its overflow chain joined.
    struct RawEntry {
        /// The rowid (table trees); 0 for index cells.
        var rowid: Int64
        /// The whole payload: a slice of the page when it is all local.
        var payload: ArraySlice<UInt8>
        /// Where the cell is, for errors.
        var pageNumber: UInt32
        var offset: Int
    }

    /// The deltas of one tree from the given page versions, in key order.
    func deltas(of tree: DiffedTree, beforePages: [UInt32], afterPages: [UInt32]) throws -> [RowDelta] {
        let before = try entries(onPages: beforePages, of: tree, in: old)
        let after = try entries(onPages: afterPages, of: tree, in: new)
        switch tree.kind {
        case .table: return try tableDeltas(before: before, after: after)
        case .withoutRowID: return try keyedDeltas(before: before, after: after, tree: tree)
        }
    }

    /// The cells (table leaves) or entries (index leaves and interior pages) on `pages` of
    /// `source`, in page then cell order.
    ///
    /// - Throws: ``PageDecodingError`` for an invalid page, cell or overflow chain, or
    ///   `.cycle` when the chains read more pages than the snapshot has.
    private func entries(onPages pages: [UInt32], of tree: DiffedTree, in source: some PageSource) throws -> [RawEntry] {
        var out: [RawEntry] = []
        guard !pages.isEmpty else { return out }
        let usableSize = try BTreeWalker(source: source).usableSize
        let maximumPayload = Int(source.databaseSizeInPages) * source.pageSize
        var readsLeft = Int(source.databaseSizeInPages)
        for number in pages {
            let page = try BTreePage.decode(number, bytes: try source.page(number), usableSize: usableSize, isTable: tree.isTable)
            guard page.type != .tableInterior else { continue }
            out.reserveCapacity(out.count + page.cellCount)
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
                out.append(RawEntry(rowid: layout.rowid, payload: payload, pageNumber: number, offset: offset))
            }
        }
        return out
    }

    /// A table tree: join by rowid (from the cell header, no decoding), then decode only the
    /// rows that are new, gone, or whose payload bytes differ.
    private func tableDeltas(before: [RawEntry], after: [RawEntry]) throws -> [RowDelta] {
        let b = try Self.sortedByRowid(before), a = try Self.sortedByRowid(after)
        var out: [RowDelta] = []
        var i = 0, j = 0
        while i < b.count || j < a.count {
            if j == a.count || (i < b.count && b[i].rowid < a[j].rowid) {
                out.append(RowDelta(key: .rowid(b[i].rowid), before: try Self.decode(b[i]), after: nil))
                i += 1
            } else if i == b.count || a[j].rowid < b[i].rowid {
                out.append(RowDelta(key: .rowid(a[j].rowid), before: nil, after: try Self.decode(a[j])))
                j += 1
            } else {
                if !Self.bytesEqual(b[i].payload, a[j].payload) {
                    let was = try Self.decode(b[i]), now = try Self.decode(a[j])
                    if was != now { out.append(RowDelta(key: .rowid(b[i].rowid), before: was, after: now)) }
                }
                i += 1
                j += 1
            }
        }
        return out
    }

    /// The entries sorted by rowid.
    /// - Throws: `.duplicateKey` at the cell that repeats a rowid first in page order.
    private static func sortedByRowid(_ entries: [RawEntry]) throws -> [RawEntry] {
        var order = Array(entries.indices)
        order.sort { entries[$0].rowid != entries[$1].rowid ? entries[$0].rowid < entries[$1].rowid : $0 < $1 }
        var repeated: Int?
        for k in order.indices.dropFirst() where entries[order[k]].rowid == entries[order[k - 1]].rowid {
            repeated = min(repeated ?? order[k], order[k])
        }
        if let r = repeated {
            throw PageDecodingError(.duplicateKey, pageNumber: entries[r].pageNumber, offset: entries[r].offset)
        }
        return order.map { entries[$0] }
    }

    /// A WITHOUT ROWID tree, whose key is inside the record: entries with the same payload
    /// bytes on both sides (once on each) are the same row unchanged and are dropped; the
    /// rest are decoded and joined by key.
    private func keyedDeltas(before: [RawEntry], after: [RawEntry], tree: DiffedTree) throws -> [RowDelta] {
        let (b, a) = Self.droppingIdentical(before, after)
        var rowsAfter: [RowKey: [SQLiteValue]] = [:]
        var rowsBefore: [(RowKey, [SQLiteValue])] = []
        var keysBefore = Set<RowKey>()
        for e in b {
            let values = try Self.decode(e)
            let key = try Self.key(of: BTreeEntry(rowid: e.rowid, values: values), in: tree, pageNumber: e.pageNumber)
            guard keysBefore.insert(key).inserted else { throw PageDecodingError(.duplicateKey, pageNumber: e.pageNumber, offset: e.offset) }
            rowsBefore.append((key, values))
        }
        for e in a {
            let values = try Self.decode(e)
            let key = try Self.key(of: BTreeEntry(rowid: e.rowid, values: values), in: tree, pageNumber: e.pageNumber)
            guard rowsAfter.updateValue(values, forKey: key) == nil else {
                throw PageDecodingError(.duplicateKey, pageNumber: e.pageNumber, offset: e.offset)
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
    private static func droppingIdentical(_ before: [RawEntry], _ after: [RawEntry]) -> ([RawEntry], [RawEntry]) {
        var counts: [ArraySlice<UInt8>: (before: Int, after: Int)] = [:]
        for e in before { counts[e.payload, default: (0, 0)].before += 1 }
        for e in after { counts[e.payload, default: (0, 0)].after += 1 }
        func isUnchanged(_ e: RawEntry) -> Bool { counts[e.payload].map { $0.before == 1 && $0.after == 1 } ?? false }
        return (before.filter { !isUnchanged($0) }, after.filter { !isUnchanged($0) })
    }

    private static func decode(_ e: RawEntry) throws -> [SQLiteValue] {
        try Record.decode(e.payload, pageNumber: e.pageNumber)
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
