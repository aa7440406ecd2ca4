/// Encodes events as JSON lines (spec v1), remembering the JSON of the table schemas it has
/// written: a schema is the same for every event of a table until the table changes.
///
/// Not `Sendable`: one writer owns one encoder.
public final class EventEncoder {
    /// At most this many distinct schemas are kept; the cache is emptied when full.
    public static let schemaCacheLimit = 1024

    private var cache: [TableSchema: [UInt8]] = [:]
    private var last: (schema: TableSchema, json: [UInt8])?
    private var tokenCache: [TableSchema: SchemaMemberTokens] = [:]
    private var lastTokens: (schema: TableSchema?, source: SourceInfo, tokens: SchemaMemberTokens)?

    /// The writer every encoding reuses (it starts each event empty).
    private var scratch = JSONWriter(reservingCapacity: 512)
    /// Whether an encoding is writing ``scratch`` now.
    private var isScratchInUse = false
    /// The largest buffer kept for reuse between events, in bytes.
    static let scratchCapacityLimit = 1 << 20

    public init() {}

    /// The event as one JSON line, without the trailing newline; the same bytes as
    /// ``Event/jsonLine()``.
    public func encode(_ event: Event) -> [UInt8] {
        withScratchWriter { w in
            var offset: Int?
            event.write(to: &w, schemaJSON: schemaJSON(for:), memberTokens: memberTokens(for:source:), schemaOffset: &offset)
            return w.bytes
        }
    }

    /// The event as one JSON line whose `schema` value is what `placeholder` returns for the
    /// schema's JSON (a reference a store expands again on read), and the byte offset at which
    /// that value starts (`nil` for events without a schema).
    /// - Throws: what `placeholder` throws.
    public func encode(_ event: Event, schemaPlaceholder placeholder: ([UInt8]) throws -> [UInt8]) throws -> (line: [UInt8], schemaOffset: Int?) {
        try withEncodedLine(event, schemaPlaceholder: placeholder) { line, offset in (Array(line), offset) }
    }

    /// As ``encode(_:schemaPlaceholder:)``, but the line is passed to `body` from a buffer
    /// the encoder reuses from event to event, instead of returned in a new array: for a
    /// writer that copies it anyway (into an SQLite row, a socket), encoding allocates
    /// nothing. The pointer is valid only during `body`.
    /// - Throws: what `placeholder` or `body` throws.
    public func withEncodedLine<R>(_ event: Event, schemaPlaceholder placeholder: ([UInt8]) throws -> [UInt8], _ body: (_ line: UnsafeRawBufferPointer, _ schemaOffset: Int?) throws -> R) throws -> R {
        try withScratchWriter { w in
            var failure: Error?
            var offset: Int?
            event.write(to: &w, schemaJSON: { schema in
                do { return try placeholder(schemaJSON(for: schema)) } catch { failure = error; return [] }
            }, memberTokens: memberTokens(for:source:), schemaOffset: &offset)
            if let failure { throw failure }
            return try w.withUnsafeBytes { try body($0, offset) }
        }
    }

    /// Calls `body` with the reused writer, empty.
    private func withScratchWriter<R>(_ body: (inout JSONWriter) throws -> R) rethrows -> R {
        // A placeholder or body that calls back into the encoder gets a writer of its own,
        // not the one being written.
        guard !isScratchInUse else {
            var w = JSONWriter(reservingCapacity: 512)
            return try body(&w)
        }
        isScratchInUse = true
        defer {
            isScratchInUse = false
            // A rare huge event would otherwise keep its buffer for the encoder's lifetime.
            if scratch.capacity > Self.scratchCapacityLimit { scratch = JSONWriter(reservingCapacity: 512) }
        }
        scratch.reset()
        return try body(&scratch)
    }

    /// What a table's events repeat, encoded, from the cache when seen before (one source
    /// per encoder in practice; a new source empties the cache).
    func memberTokens(for schema: TableSchema?, source: SourceInfo) -> SchemaMemberTokens {
        if let lastTokens, lastTokens.source == source, lastTokens.schema == schema { return lastTokens.tokens }
        if let lastTokens, lastTokens.source != source { tokenCache.removeAll(keepingCapacity: true) }
        let tokens: SchemaMemberTokens
        if let schema, let hit = tokenCache[schema] {
            tokens = hit
        } else {
            tokens = SchemaMemberTokens(schema, source: source)
            if let schema {
                if tokenCache.count >= Self.schemaCacheLimit { tokenCache.removeAll(keepingCapacity: true) }
                tokenCache[schema] = tokens
            }
        }
        lastTokens = (schema, source, tokens)
        return tokens
    }

    /// A schema's JSON object, from the cache when seen before.
    public func schemaJSON(for schema: TableSchema) -> [UInt8] {
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
