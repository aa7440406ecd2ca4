import CDCCore

/// The exact stored form of a row key, as the sink keeps it in `_cdc_row_versions.key` (a
/// column without affinity, so what is bound is what is stored).
///
/// A key of one integer (the common `INTEGER PRIMARY KEY` and rowid case) is stored as that
/// integer, the fastest form to compare. Every other key is stored as text: the key values are
/// written as a JSON array with the event format's value encoding
/// (``SQLiteValue/write(to:)``), so the text is unambiguous across storage classes: `[1]`
/// (integer) differs from `[1.0]` (real), `[-0.0]` from `[0.0]`, `["a"]` (text) from
/// `[{"$blob":"YQ=="}]` (blob), and invalid UTF-8 text is tagged `$text`. Equal keys (bit
/// for bit) always give equal text, because the writer's field order and number forms are
/// fixed.
///
/// SQLite may consider two keys equal that this form keeps apart (`1` and `1.0` in a column
/// without affinity, `'a'` and `'A'` under `COLLATE NOCASE`); the source cannot hold both at
/// once, so their versions never compete for one row. Source: docs/events.md, "Values".
public struct RowKey: Hashable, Sendable, CustomStringConvertible {
    /// The key values, in key order.
    public let values: [SQLiteValue]
    /// The JSON array text (UTF-8 bytes) of the key.
    public let encoded: [UInt8]

    /// The value stored in the version table: the integer of a one-integer key, else the
    /// JSON array text. An integer and a text never compare equal in a column without
    /// affinity, so the two forms cannot collide.
    public var storedValue: SQLiteValue {
        if values.count == 1, case .integer = values[0] { return values[0] }
        return .text(encoded)
    }

    /// Encodes key values.
    /// - Complexity: O(total size of the values).
    public init(_ values: [SQLiteValue]) {
        self.values = values
        if values.count == 1, case .integer(let v) = values[0] {
            // The common key, written without a general JSON writer: `[<digits>]`.
            var bytes: [UInt8] = [UInt8(ascii: "[")]
            bytes.append(contentsOf: String(v).utf8)
            bytes.append(UInt8(ascii: "]"))
            self.encoded = bytes
            return
        }
        var writer = JSONWriter(reservingCapacity: 32)
        writer.beginArray()
        for v in values { v.write(to: &writer) }
        writer.endArray()
        self.encoded = writer.bytes
    }

    /// Decodes the stored text form.
    /// - Throws: ``SinkError/corruptMetadata`` when the text is not a key array.
    public init(encoded: [UInt8]) throws {
        let json: JSONValue
        do { json = try JSONParser.parse(encoded) } catch {
            throw SinkError.corruptMetadata("a row key is not JSON")
        }
        guard case .array(let items) = json else { throw SinkError.corruptMetadata("a row key is not a JSON array") }
        do {
            self.values = try items.map { try SQLiteValue(json: $0) }
        } catch {
            throw SinkError.corruptMetadata("a row key holds a value outside the event format")
        }
        self.encoded = encoded
    }

    /// A description that never prints key values (they may be personal data).
    public var description: String { "key of \(values.count) value(s)" }
}
