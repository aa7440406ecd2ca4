/// A forward reader over bytes with explicit big-endian integer reads.
///
/// Every read returns `nil` when fewer bytes remain than it needs ("need more bytes") and
/// then leaves the position unchanged; deciding whether a short read means "wait for the
/// writer" or "this input is invalid" is the caller's job (STYLE.md habit 4). Positions are
/// indices into ``bytes`` (an `ArraySlice`, so they start at `bytes.startIndex`).
///
/// Source: SQLite, "Database File Format" (https://www.sqlite.org/fileformat2.html): every
/// multi-byte integer in the database file and the WAL is big-endian (§1.3, §4.1).
public struct ByteCursor {
    /// The bytes read.
    public let bytes: ArraySlice<UInt8>
    /// The index of the next byte to read, in `bytes.startIndex...bytes.endIndex`.
    public private(set) var position: Int

    /// Makes a cursor at the start of `bytes`.
    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    /// Makes a cursor at the start of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// Bytes left after ``position``.
    public var remainingCount: Int { bytes.endIndex - position }

    /// Whether no byte is left.
    public var isAtEnd: Bool { position >= bytes.endIndex }

    /// Moves to `index`; returns `false` (and does not move) when `index` lies outside the bytes.
    @discardableResult
    public mutating func seek(to index: Int) -> Bool {
        guard index >= bytes.startIndex, index <= bytes.endIndex else { return false }
        position = index
        return true
    }

    /// Skips `count` bytes; returns `false` (and does not move) when fewer remain.
    @discardableResult
    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, count <= remainingCount else { return false }
        position += count
        return true
    }

    /// Reads one byte, or `nil` at the end.
    public mutating func readUInt8() -> UInt8? {
        guard let v = peekUInt8() else { return nil }
        position += 1
        return v
    }

    /// The next byte without moving, or `nil` at the end.
    public func peekUInt8() -> UInt8? {
        position < bytes.endIndex ? bytes[position] : nil
    }

    /// Reads a big-endian unsigned 16-bit integer, or `nil` when fewer than 2 bytes remain.
    public mutating func readUInt16() -> UInt16? {
        guard let v = peekBigEndian(byteCount: 2) else { return nil }
        position += 2
        return UInt16(truncatingIfNeeded: v)
    }

    /// Reads a big-endian unsigned 32-bit integer, or `nil` when fewer than 4 bytes remain.
    public mutating func readUInt32() -> UInt32? {
        guard let v = peekBigEndian(byteCount: 4) else { return nil }
        position += 4
        return UInt32(truncatingIfNeeded: v)
    }

    /// Reads a big-endian unsigned 64-bit integer, or `nil` when fewer than 8 bytes remain.
    public mutating func readUInt64() -> UInt64? {
        guard let v = peekBigEndian(byteCount: 8) else { return nil }
        position += 8
        return v
    }

    /// Reads a big-endian integer of `byteCount` bytes (1...8) into the low bits of the result.
    public mutating func readBigEndian(byteCount: Int) -> UInt64? {
        guard let v = peekBigEndian(byteCount: byteCount) else { return nil }
        position += byteCount
        return v
    }

    /// The big-endian integer of `byteCount` bytes (1...8) at ``position``, without moving.
    public func peekBigEndian(byteCount: Int) -> UInt64? {
        guard byteCount >= 1, byteCount <= 8, byteCount <= remainingCount else { return nil }
        var v: UInt64 = 0
        for i in position..<(position + byteCount) { v = (v << 8) | UInt64(bytes[i]) }
        return v
    }

    /// Reads `count` bytes, or `nil` when fewer remain.
    public mutating func readBytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, count <= remainingCount else { return nil }
        let slice = bytes[position..<(position + count)]
        position += count
        return slice
    }

    /// Reads one SQLite varint (1 to 9 bytes), or `nil` when the bytes end inside it.
    ///
    /// Source: "Database File Format" §1.6 (the definition of a varint).
    public mutating func readVarint() -> UInt64? {
        guard let (value, length) = Varint.decode(bytes, at: position) else { return nil }
        position += length
        return value
    }
}
