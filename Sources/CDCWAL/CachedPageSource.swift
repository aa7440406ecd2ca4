/// A page source that keeps the pages it has read, up to a byte budget, so that the several
/// readers of one snapshot (the ownership update, the diff, every `BTreeWalker` reading page
/// 1's header) read each page from the file once.
///
/// Pages are kept in the order first read until ``capacityInPages`` is reached; after that,
/// pages not kept are read from the base source each time. The first pages read are the ones
/// read most often (page 1, roots, interior pages above the written leaves), so keeping them
/// rather than evicting bounds memory without losing most of the benefit. The cache is shared
/// by copies of the value (it is a reference), and must not outlive its snapshot: make one per
/// snapshot.
///
/// Not `Sendable`: one owner reads it.
public struct CachedPageSource<Base: PageSource>: PageSource {
    /// The source pages come from.
    public let base: Base
    /// The most pages kept.
    public let capacityInPages: Int
    private let storage: CachedPages

    /// Wraps `base`, keeping at most `capacityInBytes` bytes of pages (at least one page).
    public init(_ base: Base, capacityInBytes: Int = 2 << 20) {
        self.base = base
        capacityInPages = max(1, capacityInBytes / max(1, base.pageSize))
        storage = CachedPages()
    }

    /// The page size in bytes of the base source.
    public var pageSize: Int { base.pageSize }
    /// The database size in pages of the base source.
    public var databaseSizeInPages: UInt32 { base.databaseSizeInPages }

    /// The page, from the cache or the base source (then kept while there is room).
    ///
    /// - Throws: what the base source throws.
    public func page(_ number: UInt32) throws -> [UInt8] {
        if let kept = storage.page(number) { return kept }
        let bytes = try base.page(number)
        if storage.count < capacityInPages { storage.keep(bytes, for: number) }
        return bytes
    }
}

/// The pages a ``CachedPageSource`` keeps. Not nested in the generic struct, so that making a
/// source (twice per captured transaction) does not look up generic class metadata.
///
/// A snapshot of a small transaction reads a handful of pages: they are a short list searched
/// linearly, with no hashing and no table to grow; past ``listLimit`` pages, a dictionary.
private final class CachedPages {
    /// The most pages kept in the list.
    static let listLimit = 16

    private var numbers: [UInt32] = []
    private var listed: [[UInt8]] = []
    private var byNumber: [UInt32: [UInt8]] = [:]

    /// The number of pages kept.
    var count: Int { numbers.count + byNumber.count }

    /// The kept page `number`, if any.
    /// - Complexity: O(``listLimit``).
    func page(_ number: UInt32) -> [UInt8]? {
        if let i = numbers.firstIndex(of: number) { return listed[i] }
        return byNumber.isEmpty ? nil : byNumber[number]
    }

    /// Keeps `bytes` as page `number` (not kept yet).
    func keep(_ bytes: [UInt8], for number: UInt32) {
        if numbers.count < Self.listLimit {
            numbers.append(number)
            listed.append(bytes)
        } else {
            byNumber[number] = bytes
        }
    }
}
