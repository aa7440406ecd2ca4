/// A set of page numbers for the sets an ownership update consults once per child pointer
/// of every page it walks: membership without hashing.
///
/// Small sets (a transaction writing a row or two marks and attaches a handful of pages) are
/// a short unsorted array, searched linearly; past ``smallLimit`` pages the set becomes one
/// bit a page. So a small transaction allocates a few bytes per set, not a bit per page of
/// the whole database (32 KiB a set for 1 GiB of 4 KiB pages), and a large one still tests
/// membership in O(1).
///
/// Memory: 4 bytes a page up to ``smallLimit`` pages, then one bit a page up to the larger
/// of the capacity and the largest page inserted.
struct PageBitSet {
    /// The most pages kept as a list before switching to bits.
    static let smallLimit = 16

    /// The pages while the set is small (`words` empty).
    private var list: [UInt32] = []
    /// One bit a page once the set outgrew the list; empty before.
    private var words: [UInt64] = []
    /// The capacity to size the bits with.
    private let capacity: UInt32

    /// An empty set for pages up to `capacity` (it grows past that on insert). Allocates
    /// nothing until the first insert.
    init(capacity: UInt32) {
        self.capacity = capacity
    }

    /// Whether `page` is in the set.
    /// - Complexity: O(1); O(``smallLimit``) while small.
    func contains(_ page: UInt32) -> Bool {
        if words.isEmpty { return list.contains(page) }
        let w = Int(page >> 6)
        return w < words.count && words[w] & (1 << UInt64(page & 63)) != 0
    }

    /// Adds `page`.
    /// - Returns: whether it was not in the set before.
    /// - Complexity: amortized O(1); O(``smallLimit``) while small, O(capacity / 64) once
    ///   when the set outgrows its list.
    @discardableResult
    mutating func insert(_ page: UInt32) -> Bool {
        if words.isEmpty {
            if list.contains(page) { return false }
            if list.count < Self.smallLimit {
                list.append(page)
                return true
            }
            let largest = max(capacity, page, list.max() ?? 0)
            words = [UInt64](repeating: 0, count: Int(largest) / 64 + 1)
            for p in list { words[Int(p >> 6)] |= 1 << UInt64(p & 63) }
            list = []
        }
        let w = Int(page >> 6)
        if w >= words.count { words += [UInt64](repeating: 0, count: w + 1 - words.count) }
        let bit: UInt64 = 1 << UInt64(page & 63)
        if words[w] & bit != 0 { return false }
        words[w] |= bit
        return true
    }
}
