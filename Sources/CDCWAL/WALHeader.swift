/// The 32-byte header at the start of a WAL file.
///
/// Layout (all big-endian u32): 0 magic, 4 format version, 8 page size, 12 checkpoint
/// sequence, 16 salt-1, 20 salt-2, 24 checksum-1, 28 checksum-2 (of bytes 0–23).
///
/// Source: SQLite, "Database File Format" §4.1 WAL File Format
/// (https://www.sqlite.org/fileformat2.html#walformat).
public struct WALHeader: Hashable, Sendable {
    /// Bytes 0–3: ``WALFormat/magicLittleEndian`` or ``WALFormat/magicBigEndian``.
    public var magic: UInt32
    /// Bytes 4–7: 3007000.
    public var formatVersion: UInt32
    /// Bytes 8–11: the database page size in bytes (512...65536; 65536 is stored as is).
    public var pageSize: Int
    /// Bytes 12–15: grows by one each time the WAL is reset (restarted).
    public var checkpointSequence: UInt32
    /// Bytes 16–19: salt-1; every valid frame repeats it.
    public var salt1: UInt32
    /// Bytes 20–23: salt-2; every valid frame repeats it.
    public var salt2: UInt32
    /// Bytes 24–31: the checksum of bytes 0–23, the start of every frame checksum.
    public var checksum: WALChecksum

    /// Whether checksums read words big-endian (the magic's low bit is set).
    public var isBigEndianChecksum: Bool { magic & 1 == 1 }

    /// The salts as the header stores them (bytes 16–23, big-endian): the form SQLite's
    /// wal-index copies them in, to compare with it.
    public var saltBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8)
        for v in [salt1, salt2] {
            for shift: UInt32 in [24, 16, 8, 0] { out.append(UInt8(truncatingIfNeeded: v >> shift)) }
        }
        return out
    }

    /// Bytes in one frame: the 24-byte frame header plus one page.
    public var frameSize: Int { WALFormat.frameHeaderSize + pageSize }

    /// The file offset of frame `index` (0-based) in bytes.
    public func offset(ofFrame index: Int) -> Int { WALFormat.headerSize + index * frameSize }

    /// Decodes and verifies a header.
    ///
    /// - Parameter bytes: the start of the WAL file.
    /// - Returns: the header, or `nil` when fewer than 32 bytes are given (an empty or
    ///   still-being-written WAL: need more bytes).
    /// - Throws: ``WALDecodingError`` for a bad magic, version, page size or header checksum.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> WALHeader? {
        var c = ByteCursor(bytes)
        guard c.remainingCount >= WALFormat.headerSize,
              let magic = c.readUInt32(), let version = c.readUInt32(), let pageSize = c.readUInt32(),
              let sequence = c.readUInt32(), let salt1 = c.readUInt32(), let salt2 = c.readUInt32(),
              let sum1 = c.readUInt32(), let sum2 = c.readUInt32() else { return nil }
        guard magic == WALFormat.magicLittleEndian || magic == WALFormat.magicBigEndian else {
            throw WALDecodingError.badMagic(magic)
        }
        guard version == WALFormat.formatVersion else { throw WALDecodingError.unsupportedFormatVersion(version) }
        guard WALFormat.isValidPageSize(Int(pageSize)) else { throw WALDecodingError.invalidPageSize(pageSize) }
        let start = bytes.startIndex
        let computed = WALChecksum.zero.adding(bytes[start..<(start + 24)], isBigEndian: magic & 1 == 1)
        let stored = WALChecksum(first: sum1, second: sum2)
        guard computed == stored else { throw WALDecodingError.headerChecksumMismatch }
        return WALHeader(magic: magic, formatVersion: version, pageSize: Int(pageSize), checkpointSequence: sequence,
                         salt1: salt1, salt2: salt2, checksum: stored)
    }
}
