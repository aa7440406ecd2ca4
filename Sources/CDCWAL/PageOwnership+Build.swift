/// The full walk: every page of every b-tree, with its overflow chains.
extension PageOwnership {
    /// The root pages of `source`: page 1 (sqlite_schema) and the non-zero `rootpage` of every
    /// table and index in sqlite_schema (WITHOUT ROWID tables and automatic indexes included;
    /// views, triggers and virtual tables have none), ascending.
    ///
    /// - Throws: ``PageDecodingError`` for an invalid header, schema page or schema row.
    /// - Complexity: O(size of sqlite_schema).
    public static func rootPages(in source: some PageSource) throws -> [UInt32] {
        let schema = try BTreeWalker(source: source).schema()
        return Set(schema.filter { ($0.type == "table" || $0.type == "index") && $0.rootPage > 0 }.map(\.rootPage) + [1]).sorted()
    }

    /// Walks every tree rooted at `roots` (page 1 is always added) and records every page's
    /// parent, overflow chains included.
    ///
    /// Each tree is checked as ``BTreeWalker`` checks it: page numbers in range, page types
    /// matching the root's kind (table or index), cells inside their pages, depth bounded.
    /// A page reached twice (from two parents, or in a cycle) is an error, so the walk reads
    /// each page at most once.
    ///
    /// - Parameters:
    ///   - source: the snapshot.
    ///   - roots: every b-tree root of the snapshot (see ``rootPages(in:)``).
    /// - Throws: ``PageDecodingError``: `.pageOutOfRange`, `.invalidPageType`, `.cycle`,
    ///   `.treeTooDeep`, `.overflowChainTooShort`, cell errors, or the source's error.
    /// - Complexity: O(pages in use by b-trees), each read once.
    public static func build(source: some PageSource, roots: some Sequence<UInt32>) throws -> PageOwnership {
        let header = try BTreeWalker(source: source).header
        var map = PageOwnership(databaseSizeInPages: source.databaseSizeInPages)
        let sorted = Set(roots).union([1]).sorted()
        for root in sorted {
            try checkRange(root, source)
            guard !map.entry(of: root).isOwned else { throw PageDecodingError(.cycle, pageNumber: root) }
            map.setEntry(root, Entry(parent: root, isOverflowPage: false))
            try map.walkFully(from: root, source: source, usableSize: header.usableSize)
        }
        map.setRootPages(sorted)
        return map
    }

    /// Records the subtree under `root` (whose own entry is set), reading every page.
    private mutating func walkFully<Source: PageSource>(from root: UInt32, source: Source, usableSize: Int) throws {
        let maximumPayload = Int(source.databaseSizeInPages) * source.pageSize
        var stack: [(page: UInt32, depth: Int)] = [(root, 0)]
        var isTable: Bool?
        while let (number, depth) = stack.popLast() {
            guard depth < BTreeWalker<Source>.maximumDepth else { throw PageDecodingError(.treeTooDeep(depth), pageNumber: number) }
            let page = try BTreePage.decode(number, bytes: try source.page(number), usableSize: usableSize, isTable: isTable)
            isTable = page.type.isTable
            let links = try Links(of: page, maximumPayloadSize: maximumPayload)
            for child in links.children {
                try Self.checkRange(child, source)
                guard !entry(of: child).isOwned else { throw PageDecodingError(.cycle, pageNumber: child) }
                setEntry(child, Entry(parent: number, isOverflowPage: false))
                stack.append((child, depth + 1))
            }
            for chain in links.chains {
                var previous = number, current = chain.first
                for i in 0..<chain.pageCount {
                    try Self.checkRange(current, source)
                    guard !entry(of: current).isOwned else { throw PageDecodingError(.cycle, pageNumber: current) }
                    setEntry(current, Entry(parent: previous, isOverflowPage: true))
                    guard i < chain.pageCount - 1 else { break }
                    let next = OverflowChain.nextPage(in: try source.page(current))
                    guard next != 0 else { throw PageDecodingError(.overflowChainTooShort, pageNumber: number) }
                    previous = current
                    current = next
                }
            }
        }
    }

    /// Checks that `page` is a page of `source` (links to page 0 or past the end are corrupt).
    static func checkRange(_ page: UInt32, _ source: some PageSource) throws {
        guard page >= 1, page <= source.databaseSizeInPages else {
            throw PageDecodingError(.pageOutOfRange(databaseSizeInPages: source.databaseSizeInPages), pageNumber: page)
        }
    }
}
