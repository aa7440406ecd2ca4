import CDCCore

/// The exact text form of a row key, as the sink stores it in `_cdc_row_versions.key`.
///
/// The key values are written as a JSON array with the event format's value encoding
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
    /// The JSON array text (UTF-8 bytes) stored in the version table.
    public let encoded: [UInt8]

    /// Encodes key values.
    /// - Complexity: O(total size of the values).
    public init(_ values: [SQLiteValue]) {
        self.values = values
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
