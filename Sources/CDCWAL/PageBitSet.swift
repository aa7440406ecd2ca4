/// A set of page numbers as one bit a page: membership without hashing, for the sets an
/// ownership update consults once per child pointer of every page it walks.
///
/// Memory: one bit a page up to the largest page inserted (32 KiB for a 1 GiB database of
/// 4 KiB pages).
struct PageBitSet {
    private var words: [UInt64]

    /// An empty set sized for pages up to `capacity` (it grows past that on insert).
    init(capacity: UInt32) {
        words = [UInt64](repeating: 0, count: Int(capacity) / 64 + 1)
    }

    /// Whether `page` is in the set.
    func contains(_ page: UInt32) -> Bool {
        let w = Int(page >> 6)
        return w < words.count && words[w] & (1 << UInt64(page & 63)) != 0
    }

    /// Adds `page`.
    /// - Returns: whether it was not in the set before.
    @discardableResult
    mutating func insert(_ page: UInt32) -> Bool {
        let w = Int(page >> 6)
        if w >= words.count { words += [UInt64](repeating: 0, count: w + 1 - words.count) }
        let bit: UInt64 = 1 << UInt64(page & 63)
        if words[w] & bit != 0 { return false }
        words[w] |= bit
        return true
    }
}
