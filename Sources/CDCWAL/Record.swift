import CDCCore

/// Decodes SQLite's record format into values with their exact storage classes.
///
/// A record is a header (its own size as a varint, then one serial-type varint per column)
/// followed by the column values. Serial types: 0 NULL; 1–6 big-endian two's-complement
/// integers of 1, 2, 3, 4, 6 and 8 bytes; 7 a big-endian IEEE 754 binary64; 8 and 9 the
/// integers 0 and 1 (no body); 10 and 11 reserved (an error); N ≥ 12 even a blob of
/// (N−12)/2 bytes; N ≥ 13 odd a text of (N−13)/2 bytes, kept as bytes (only UTF-8
/// databases are supported, see ``DatabaseHeader``).
///
/// A record may hold fewer values than the table has columns (rows written before
/// `ALTER TABLE ADD COLUMN`); the decoder returns the values present and the caller fills the
/// missing columns with their declared defaults. A rowid table's `INTEGER PRIMARY KEY` column
/// is stored as NULL; the caller substitutes the rowid.
///
/// Source: SQLite, "Database File Format" §2.1 Record Format
/// (https://www.sqlite.org/fileformat2.html#record_format).
public enum Record {
    /// The body size in bytes of a serial type, or `nil` for the reserved types 10 and 11.
    public static func bodySize(ofSerialType type: UInt64) -> UInt64? {
        switch type {
        case 0, 8, 9: return 0
        case 1, 2, 3, 4: return type
        case 5: return 6
        case 6, 7: return 8
        case 10, 11: return nil
        default: return (type - 12) / 2
        }
    }

    /// Decodes a complete record payload.
    ///
    /// - Parameters:
    ///   - payload: the whole payload (local part plus overflow, already joined).
    ///   - pageNumber: the page holding the cell, for error locations.
    /// - Returns: one value per serial type in the header, in column order.
    /// - Throws: ``PageDecodingError`` with kind `.recordHeaderOutOfRange`,
    ///   `.truncatedVarint`, `.reservedSerialType` or `.recordBodyTruncated`.
    /// - Complexity: O(n) in the payload size.
    public static func decode(_ payload: ArraySlice<UInt8>, pageNumber: UInt32? = nil) throws -> [SQLiteValue] {
        // Over the raw bytes: slicing the array per field would retain and release its
        // storage once per field, which at bulk rates costs as much as the decoding.
        try payload.withUnsafeBufferPointer { try decode(bytes: $0, pageNumber: pageNumber) }
    }

    /// ``decode(_:pageNumber:)`` over the payload's bytes.
    /// - Parameter minimumCapacity: room to reserve in the result (a caller that appends
    ///   defaults for missing columns asks for its column count).
    static func decode(bytes p: UnsafeBufferPointer<UInt8>, pageNumber: UInt32?, minimumCapacity: Int = 0) throws -> [SQLiteValue] {
        guard let (headerSize, headerSizeLength) = varint(p, at: 0, end: p.count) else {
            throw PageDecodingError(.truncatedVarint, pageNumber: pageNumber)
        }
        guard headerSize >= UInt64(headerSizeLength), headerSize <= UInt64(p.count) else {
            throw PageDecodingError(.recordHeaderOutOfRange(headerSize: headerSize, payloadSize: p.count), pageNumber: pageNumber)
        }
        let headerEnd = Int(headerSize)
        var typeIndex = headerSizeLength
        var body = headerEnd
        var values: [SQLiteValue] = []
        // At most one field per header byte; the bound keeps a hostile header from reserving much.
        values.reserveCapacity(max(minimumCapacity, min(headerEnd - headerSizeLength, 64)))
        while typeIndex < headerEnd {
            guard let (type, length) = varint(p, at: typeIndex, end: headerEnd) else {
                throw PageDecodingError(.truncatedVarint, pageNumber: pageNumber)
            }
            typeIndex += length
            guard let size = bodySize(ofSerialType: type) else {
                throw PageDecodingError(.reservedSerialType(type), pageNumber: pageNumber)
            }
            guard size <= UInt64(p.count - body) else {
                throw PageDecodingError(.recordBodyTruncated, pageNumber: pageNumber)
            }
            let n = Int(size)
            values.append(value(ofSerialType: type, body: UnsafeBufferPointer(rebasing: p[body..<(body + n)])))
            body += n
        }
        return values
    }

    /// A varint of `p` starting at `index` and ending before `end` (``Varint/decode(_:at:)``
    /// over raw bytes), or `nil` when it runs past `end`.
    @inline(__always)
    static func varint(_ p: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> (value: UInt64, length: Int)? {
        var value: UInt64 = 0
        var i = index
        for n in 0..<Varint.maximumLength {
            guard i < end else { return nil }
            let byte = p[i]
            i += 1
            if n == Varint.maximumLength - 1 { return ((value << 8) | UInt64(byte), Varint.maximumLength) }
            value = (value << 7) | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { return (value, n + 1) }
        }
        return nil
    }

    /// The value of one column given its serial type and exactly its body bytes: integers
    /// are big-endian two's complement of 1 to 8 bytes, sign-extended to 64 bits.
    ///
    /// - Precondition: `body.count == bodySize(ofSerialType: type)` and `type` is not 10 or 11
    ///   (``decode(_:pageNumber:)`` checks both).
    @inline(__always)
    static func value(ofSerialType type: UInt64, body: UnsafeBufferPointer<UInt8>) -> SQLiteValue {
        switch type {
        case 0: return .null
        case 1...6:
            var bits: UInt64 = 0
            for b in body { bits = (bits << 8) | UInt64(b) }
            let shift = UInt64(64 - body.count * 8)
            return .integer(shift == 0 ? Int64(bitPattern: bits) : Int64(bitPattern: bits << shift) >> Int64(shift))
        case 7:
            var bits: UInt64 = 0
            for b in body { bits = (bits << 8) | UInt64(b) }
            return .real(Double(bitPattern: bits))
        case 8: return .integer(0)
        case 9: return .integer(1)
        default:
            return type & 1 == 0 ? .blob(Array(body)) : .text(Array(body))
        }
    }
}
