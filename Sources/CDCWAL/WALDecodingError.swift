/// Why a WAL file's header cannot be used.
///
/// Only the 32-byte header can make a WAL unusable as a whole. Problems with frames are not
/// errors: a bad salt, a checksum that does not verify or a partial frame *ends the valid
/// log* at that frame (see ``WALEnd``), as SQLite's own recovery does.
///
/// Source: SQLite, "Database File Format" §4.1 WAL File Format
/// (https://www.sqlite.org/fileformat2.html#walformat).
public enum WALDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Bytes 0–3 are neither 0x377f0682 nor 0x377f0683.
    case badMagic(UInt32)
    /// Bytes 4–7 are not 3007000, the only version SQLite writes.
    case unsupportedFormatVersion(UInt32)
    /// Bytes 8–11 are not a power of two from 512 to 65536.
    case invalidPageSize(UInt32)
    /// Bytes 24–31 do not equal the checksum of bytes 0–23 (§4.2); SQLite treats such a WAL as empty.
    case headerChecksumMismatch

    /// One line naming the problem and where it is (always the header, file offset 0).
    public var description: String {
        switch self {
        case .badMagic(let m): return "WAL header at byte 0: magic 0x\(String(m, radix: 16)) is not a SQLite WAL"
        case .unsupportedFormatVersion(let v): return "WAL header at byte 4: format version \(v) is not 3007000"
        case .invalidPageSize(let s): return "WAL header at byte 8: page size \(s) is not a power of two from 512 to 65536"
        case .headerChecksumMismatch: return "WAL header at byte 24: header checksum does not verify"
        }
    }
}
