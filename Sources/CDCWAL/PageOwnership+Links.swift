/// What one b-tree page points at, parsed with the checks of ``CellLayout`` but none of its
/// fields the map does not need, and remembered per page version between transactions.
extension PageOwnership {
    /// The pages one b-tree page points at: its child pages (interior pages: each cell's left
    /// child, then the right-most pointer) and the overflow chains of its cells (leaf cells,
    /// and index interior cells, which carry a key payload too).
    ///
    /// Source: "Database File Format" §1.6, the cell format table, and §1.7.
    struct Links: Sendable {
        /// Child b-tree pages, in cell order, the right-most pointer last.
        var children: [UInt32] = []
        /// First overflow page and chain length in pages, per spilling cell.
        var chains: [(first: UInt32, pageCount: Int)] = []
        /// The largest payload size of any cell (0 without payloads): the links hold for any
        /// maximum payload size at or above it (see ``LinksMemo``).
        var largestPayloadSize = 0

        /// Parses `page`'s cells.
        ///
        /// Each cell is checked as ``CellLayout`` checks it, in the same order and with the same
        /// errors (so a corrupt page fails here exactly as in the row diff), but only the fields
        /// that lead to other pages are kept: a leaf cell whose payload fits on the page (the
        /// common case) costs its varints' bytes, with no division and no copy.
        ///
        /// - Throws: ``PageDecodingError`` `.cellOutOfPage`, `.truncatedVarint` or
        ///   `.payloadTooLarge`.
        /// - Complexity: O(cells).
        init(of page: BTreePage, maximumPayloadSize: Int) throws {
            let type = page.type
            let isLeaf = type.isLeaf
            if !isLeaf { children.reserveCapacity(page.cellCount + 1) }
            let pageNumber = page.pageNumber
            let cellCount = page.cellCount
            let arrayOffset = page.cellPointerArrayOffset
            let end = page.usableSize
            let hasPayload = type != .tableInterior
            let hasRowID = type == .tableLeaf || type == .tableInterior
            // X, M and U−4 of §1.6, as PayloadLayout computes them for this page kind.
            let maximumLocal = PayloadLayout.maximumLocal(usableSize: end, isTableLeaf: type == .tableLeaf)
            let minimumLocal = PayloadLayout.minimumLocal(usableSize: end)
            let maximumPayload = UInt64(max(0, maximumPayloadSize))
            var largest = 0
            var found: [(first: UInt32, pageCount: Int)] = []
            var childList: [UInt32] = []
            if !isLeaf { childList.reserveCapacity(cellCount + 1) }
            try page.bytes.withUnsafeBufferPointer { all in
                guard let base = all.baseAddress, end <= all.count else { return } // safe: BTreePage clamps usableSize to its bytes
                let contentStart = arrayOffset + 2 * cellCount
                for i in 0..<cellCount {
                    // The checks of BTreePage.forEachCell (the init checked that the array fits).
                    let pointer = arrayOffset + 2 * i
                    let offset = Int(base[pointer]) << 8 | Int(base[pointer + 1])
                    guard offset >= contentStart, offset < end else {
                        throw PageDecodingError(.cellOutOfPage, pageNumber: pageNumber, offset: pointer)
                    }
                    // The checks of CellLayout.init, in its order.
                    var p = offset
                    func fail(_ kind: PageDecodingError.Kind) -> PageDecodingError {
                        PageDecodingError(kind, pageNumber: pageNumber, offset: offset)
                    }
                    if !isLeaf {
                        guard end - p >= 4 else { throw fail(.cellOutOfPage) }
                        childList.append(UInt32(base[p]) << 24 | UInt32(base[p + 1]) << 16 | UInt32(base[p + 2]) << 8 | UInt32(base[p + 3]))
                        p += 4
                    }
                    guard hasPayload else {
                        // Table interior: the rowid must be a whole varint inside the area.
                        guard Self.skipVarint(base, &p, end) else { throw fail(.truncatedVarint) }
                        continue
                    }
                    guard let size = Self.readVarint(base, &p, end) else { throw fail(.truncatedVarint) }
                    guard size <= maximumPayload else { throw fail(.payloadTooLarge(size)) }
                    let payloadSize = Int(size)
                    if payloadSize > largest { largest = payloadSize }
                    if hasRowID {
                        guard Self.skipVarint(base, &p, end) else { throw fail(.truncatedVarint) }
                    }
                    var local = payloadSize
                    if payloadSize > maximumLocal {
                        let k = minimumLocal + ((payloadSize - minimumLocal) % (end - 4))
                        local = k <= maximumLocal ? k : minimumLocal
                    }
                    guard local >= 0, local <= end - p else { throw fail(.cellOutOfPage) }
                    guard local < payloadSize else { continue }
                    p += local
                    guard end - p >= 4 else { throw fail(.cellOutOfPage) }
                    let first = UInt32(base[p]) << 24 | UInt32(base[p + 1]) << 16 | UInt32(base[p + 2]) << 8 | UInt32(base[p + 3])
                    let count = OverflowChain.pageCount(payloadSize: payloadSize, localSize: local, usableSize: end)
                    if count > 0 { found.append((first, count)) }
                }
            }
            if !isLeaf { childList.append(page.rightMostPointer) }
            children = childList
            chains = found
            largestPayloadSize = largest
        }

        /// Reads the varint (§1.6) at `p` and moves `p` past it; `nil` when the area ends
        /// inside it (what ``CellLayout`` reports as `.truncatedVarint`).
        @inline(__always)
        private static func readVarint(_ base: UnsafePointer<UInt8>, _ p: inout Int, _ end: Int) -> UInt64? {
            guard p < end else { return nil }
            let first = base[p]
            if first < 0x80 {
                p += 1
                return UInt64(first)
            }
            var value: UInt64 = 0
            for n in 0..<Varint.maximumLength {
                guard p < end else { return nil }
                let byte = base[p]
                p += 1
                if n == Varint.maximumLength - 1 { return (value << 8) | UInt64(byte) }
                value = (value << 7) | UInt64(byte & 0x7F)
                if byte & 0x80 == 0 { return value }
            }
            return nil // safe: the loop returns on its ninth byte at the latest
        }

        /// Moves `p` past the varint at `p`; `false` when the area ends inside it.
        @inline(__always)
        private static func skipVarint(_ base: UnsafePointer<UInt8>, _ p: inout Int, _ end: Int) -> Bool {
            for n in 0..<Varint.maximumLength {
                guard p < end else { return false }
                let byte = base[p]
                p += 1
                if n == Varint.maximumLength - 1 || byte & 0x80 == 0 { return true }
            }
            return true // safe: the loop returns on its ninth byte at the latest
        }
    }

    /// The links of recently parsed page versions, so that the version a transaction wrote is
    /// not parsed again when the next transaction reads it as its old version.
    ///
    /// An entry is keyed by page number and holds the bytes it was parsed from: it answers
    /// only for equal bytes (the same storage when both come from the WAL frame cache, which
    /// makes the comparison O(1); else a memcmp, still cheaper than a parse), the same usable
    /// size, and a maximum payload size no smaller than the page's largest payload (below it
    /// the parse would throw `.payloadTooLarge`). So a hit gives exactly what a parse gives.
    ///
    /// Memory: at most ``capacityInBytes`` of pages (usually shared with the frame cache) and
    /// their links.
    struct LinksMemo: Sendable {
        /// The most page bytes kept (256 pages of 4 KiB); the memo is emptied when a new page
        /// would pass it.
        static let capacityInBytes = 1 << 20

        private struct Entry: Sendable {
            var bytes: [UInt8]
            var usableSize: Int
            var links: Links
        }

        private var entries: [UInt32: Entry] = [:]
        private var storedBytes = 0

        /// The number of pages remembered.
        var count: Int { entries.count }
        /// The bytes of the pages remembered.
        var byteCount: Int { storedBytes }

        /// The links of page `number` with these bytes, when parsed before.
        func links(of number: UInt32, bytes: [UInt8], usableSize: Int, maximumPayloadSize: Int) -> Links? {
            guard let e = entries[number], e.usableSize == usableSize, e.links.largestPayloadSize <= maximumPayloadSize,
                  e.bytes == bytes else { return nil }
            return e.links
        }

        /// Remembers the links of page `number` parsed from `bytes`.
        mutating func remember(_ links: Links, of number: UInt32, bytes: [UInt8], usableSize: Int) {
            guard bytes.count <= Self.capacityInBytes else { return }
            storedBytes -= entries[number]?.bytes.count ?? 0
            if storedBytes + bytes.count > Self.capacityInBytes {
                entries.removeAll(keepingCapacity: true)
                storedBytes = 0
            }
            entries[number] = Entry(bytes: bytes, usableSize: usableSize, links: links)
            storedBytes += bytes.count
        }
    }

    /// The links of `page`, from the memo when it parsed these bytes before, else parsed (and
    /// remembered when `remember` is set).
    ///
    /// - Parameter remember: whether to keep a parsed result: set for the new version of a
    ///   page (the next transaction's old version), not for an old version, which would
    ///   replace the new version parsed a moment before under the same page number.
    /// - Throws: what ``Links/init(of:maximumPayloadSize:)`` throws.
    mutating func links(of page: BTreePage, maximumPayloadSize: Int, remember: Bool) throws -> Links {
        if let known = linksMemo.links(of: page.pageNumber, bytes: page.bytes, usableSize: page.usableSize,
                                       maximumPayloadSize: maximumPayloadSize) {
            return known
        }
        let links = try Links(of: page, maximumPayloadSize: maximumPayloadSize)
        if remember { linksMemo.remember(links, of: page.pageNumber, bytes: page.bytes, usableSize: page.usableSize) }
        return links
    }
}
