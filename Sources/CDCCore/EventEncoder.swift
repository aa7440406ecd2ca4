/// Encodes events as JSON lines (spec v1), remembering the JSON of the table schemas it has
/// written: a schema is the same for every event of a table until the table changes.
///
/// Not `Sendable`: one writer owns one encoder.
public final class EventEncoder {
    /// At most this many distinct schemas are kept; the cache is emptied when full.
    public static let schemaCacheLimit = 1024

    private var cache: [TableSchema: [UInt8]] = [:]
    private var last: (schema: TableSchema, json: [UInt8])?

    public init() {}

    /// The event as one JSON line, without the trailing newline; the same bytes as
    /// ``Event/jsonLine()``.
    public func encode(_ event: Event) -> [UInt8] {
        event.jsonLine { schema in
            if let last, last.schema == schema { return last.json }
            let json: [UInt8]
            if let hit = cache[schema] {
                json = hit
            } else {
                var w = JSONWriter()
                schema.write(to: &w)
                json = w.bytes
                if cache.count >= Self.schemaCacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[schema] = json
            }
            last = (schema, json)
            return json
        }
    }
}
