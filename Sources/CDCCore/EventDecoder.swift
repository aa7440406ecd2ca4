/// Decodes event lines (spec v1, docs/events.md) in one pass over the bytes, without building
/// a JSON tree, and keeps the table schemas it has seen: events of one table repeat the same
/// schema object, which is then decoded once and found again by its bytes.
///
/// Not `Sendable`: one reader owns one decoder (its cache is per reader).
public final class EventDecoder {
    /// At most this many distinct schemas are cached; the cache is emptied when full.
    public static let schemaCacheLimit = 1024

    private struct SchemaEntry {
        var bytes: [UInt8]
        var schema: TableSchema
        var columnIndex: [[UInt8]: Int]
        var keyIndex: [[UInt8]: Int]
        var keyCount: Int
    }

    /// Schemas by a 64-bit FNV-1a hash of their JSON bytes (collisions are resolved by
    /// comparing the bytes); `last` answers runs of events of one table without hashing.
    private var schemas: [UInt64: [SchemaEntry]] = [:]
    private var schemaCount = 0
    private var last: SchemaEntry?

    public init() {}

    private enum Field: Int, CaseIterable {
        case v, lsn, type, source, tsMilliseconds, txn, table, op, schema, key, before, after, version, epoch, reason, tables
        static let byName: [[UInt8]: Field] = [
            Array("v".utf8): .v, Array("lsn".utf8): .lsn, Array("type".utf8): .type, Array("source".utf8): .source,
            Array("ts_ms".utf8): .tsMilliseconds, Array("txn".utf8): .txn, Array("table".utf8): .table, Array("op".utf8): .op,
            Array("schema".utf8): .schema, Array("key".utf8): .key, Array("before".utf8): .before, Array("after".utf8): .after,
            Array("version".utf8): .version, Array("epoch".utf8): .epoch, Array("reason".utf8): .reason, Array("tables".utf8): .tables,
        ]
        var name: String {
            ["v", "lsn", "type", "source", "ts_ms", "txn", "table", "op", "schema", "key", "before", "after", "version", "epoch", "reason", "tables"][rawValue]
        }
    }

    /// Decodes one JSON line.
    ///
    /// - Parameters:
    ///   - line: the line's bytes, without the newline.
    ///   - lineNumber: 1-based line number for the error, when known.
    /// - Throws: ``EventDecodingError`` naming the line and the field that is wrong.
    /// - Complexity: O(line length); a schema not seen before is decoded once more.
    public func decode(_ line: [UInt8], lineNumber: Int? = nil) throws -> Event {
        var context = DecodingContext(line: lineNumber)
        do {
            return try decodeEvent(line, &context)
        } catch let e as JSONSyntaxError {
            throw EventDecodingError(line: lineNumber, field: context.field, reason: e.description)
        }
    }

    private struct DecodingContext {
        var line: Int?
        var field: String?
        func fail(_ field: String, _ reason: String) -> EventDecodingError {
            EventDecodingError(line: line, field: field, reason: reason)
        }
    }

    private func decodeEvent(_ line: [UInt8], _ c: inout DecodingContext) throws -> Event {
        var r = try JSONPullReader(line)
        try r.expect(UInt8(ascii: "{"), "an event object")
        var ints = [Int64?](repeating: nil, count: Field.allCases.count)
        var strings = [String?](repeating: nil, count: Field.allCases.count)
        var ranges = [Range<Int>?](repeating: nil, count: Field.allCases.count)
        var seen = [Bool](repeating: false, count: Field.allCases.count)
        var unknown = Set<[UInt8]>()
        // Images are read as they are met when the schema came first (as the agent writes
        // events); otherwise their ranges are kept and read after the schema.
        var entry: SchemaEntry?
        var images: [Field: [SQLiteValue]?] = [:]
        var first = true
        while let name = try r.nextMember(first: &first) {
            guard let field = Field.byName[name] else {
                // Additive fields of v1 are skipped, but never twice (RFC 8259 §4 leaves
                // duplicates undefined; the spec rejects them).
                guard unknown.insert(name).inserted else { throw c.fail(String(decoding: name, as: UTF8.self), "duplicate member") }
                _ = try r.skipValue()
                continue
            }
            c.field = field.name
            guard !seen[field.rawValue] else { throw c.fail(field.name, "duplicate member") }
            seen[field.rawValue] = true
            switch field {
            case .v, .lsn, .tsMilliseconds, .version, .epoch:
                ints[field.rawValue] = try readInteger(&r, field.name, c)
            case .type, .table, .op, .reason:
                strings[field.rawValue] = try readString(&r, field.name, c)
            case .schema:
                let range = try r.skipValue()
                ranges[field.rawValue] = range
                entry = try schemaEntry(line, at: range, c)
            case .key, .before, .after:
                if let entry {
                    images[field] = try decodeImage(&r, field: field, entry: entry, c)
                } else {
                    ranges[field.rawValue] = try r.skipValue()
                }
            case .source, .txn, .tables:
                ranges[field.rawValue] = try r.skipValue()
            }
        }
        try r.expectEnd()
        c.field = nil

        func integer(_ f: Field) throws -> Int64 {
            guard let v = ints[f.rawValue] else { throw c.fail(f.name, "missing") }
            return v
        }
        func string(_ f: Field) throws -> String {
            guard let v = strings[f.rawValue] else { throw c.fail(f.name, "missing") }
            return v
        }
        func range(_ f: Field) throws -> Range<Int> {
            guard let v = ranges[f.rawValue] else { throw c.fail(f.name, "missing") }
            return v
        }

        let v = try integer(.v)
        guard v == Int64(eventSpecVersion) else { throw c.fail("v", "spec version \(v) is not supported (this build reads \(eventSpecVersion))") }
        let lsn = LSN(try integer(.lsn))
        guard lsn.rawValue > 0 else { throw c.fail("lsn", "must be positive") }
        let type = try string(.type)
        let source = try decodeSource(r, at: try range(.source), c)
        let timestamp = try integer(.tsMilliseconds)

        let body: Event.Body
        switch type {
        case "change":
            let transaction = try decodeTransaction(r, at: try range(.txn), c)
            let tableName = try string(.table)
            let opName = try string(.op)
            guard let op = Operation(rawValue: opName) else { throw c.fail("op", "unknown operation \"\(opName)\"") }
            guard var entry else { throw c.fail("schema", "missing") }
            entry.schema.name = tableName
            func image(_ f: Field) throws -> [SQLiteValue]? {
                if let decoded = images[f] { return decoded }
                var sub = r
                sub.position = try range(f).lowerBound
                return try decodeImage(&sub, field: f, entry: entry, c)
            }
            let key = try image(.key) ?? []
            let before = try image(.before)
            let after = try image(.after)
            switch op {
            case .insert, .snapshot:
                guard after != nil else { throw c.fail("after", "an \(op.rawValue) needs an after image") }
                guard before == nil else { throw c.fail("before", "an \(op.rawValue) has no before image") }
            case .update:
                guard before != nil else { throw c.fail("before", "an update needs a before image") }
                guard after != nil else { throw c.fail("after", "an update needs an after image") }
            case .delete:
                guard before != nil else { throw c.fail("before", "a delete needs a before image") }
                guard after == nil else { throw c.fail("after", "a delete has no after image") }
            }
            guard try integer(.version) == lsn.rawValue else { throw c.fail("version", "row version must equal the LSN") }
            body = .change(RowChange(transaction: transaction, table: entry.schema, operation: op, key: key, before: before, after: after))
        case "snapshot_start", "snapshot_end":
            let epoch = SnapshotEpoch(epoch: LSN(try integer(.epoch)), tables: try decodeStringArray(r, at: try range(.tables), field: "tables", c), reason: try string(.reason))
            body = type == "snapshot_start" ? .snapshotStart(epoch) : .snapshotEnd(epoch)
        case "heartbeat":
            body = .heartbeat
        default:
            throw c.fail("type", "unknown event type \"\(type)\"")
        }
        return Event(lsn: lsn, source: source, timestampMilliseconds: timestamp, body: body)
    }

    // MARK: - Fields

    private func readInteger(_ r: inout JSONPullReader, _ field: String, _ c: DecodingContext) throws -> Int64 {
        guard let b = r.peek(), b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) else {
            _ = try r.skipValue()
            throw c.fail(field, "must be a 64-bit integer")
        }
        let (range, isInteger) = try r.readNumber()
        guard isInteger, let v = r.int64(range) else { throw c.fail(field, "must be a 64-bit integer") }
        return v
    }

    private func readString(_ r: inout JSONPullReader, _ field: String, _ c: DecodingContext) throws -> String {
        guard r.peek() == UInt8(ascii: "\"") else {
            _ = try r.skipValue()
            throw c.fail(field, "must be a string")
        }
        return String(decoding: try r.readString(), as: UTF8.self)
    }

    private func readBool(_ r: inout JSONPullReader, _ field: String, _ c: DecodingContext) throws -> Bool {
        guard case .bool(let b) = (r.peek() == UInt8(ascii: "t") || r.peek() == UInt8(ascii: "f")) ? try r.readLiteral() : .null else {
            _ = try r.skipValue()
            throw c.fail(field, "must be true or false")
        }
        return b
    }

    private func objectReader(_ base: JSONPullReader, at range: Range<Int>, field: String, _ c: DecodingContext) throws -> JSONPullReader {
        var r = base
        r.position = range.lowerBound
        guard r.peek() == UInt8(ascii: "{") else { throw c.fail(field, "must be an object") }
        r.position += 1
        return r
    }

    private func decodeSource(_ base: JSONPullReader, at range: Range<Int>, _ c: DecodingContext) throws -> SourceInfo {
        var r = try objectReader(base, at: range, field: "source", c)
        var service: String?, db: String?, mode: String?
        var first = true
        while let name = try r.nextMember(first: &first) {
            switch name {
            case Array("service".utf8): service = try readString(&r, "source.service", c)
            case Array("db".utf8): db = try readString(&r, "source.db", c)
            case Array("mode".utf8): mode = try readString(&r, "source.mode", c)
            default: _ = try r.skipValue()
            }
        }
        guard let service else { throw c.fail("source.service", "missing") }
        guard let db else { throw c.fail("source.db", "missing") }
        guard let mode else { throw c.fail("source.mode", "missing") }
        guard let captureMode = CaptureMode(rawValue: mode) else { throw c.fail("source.mode", "unknown capture mode \"\(mode)\"") }
        return SourceInfo(service: service, database: db, mode: captureMode)
    }

    private func decodeTransaction(_ base: JSONPullReader, at range: Range<Int>, _ c: DecodingContext) throws -> TransactionInfo {
        var r = try objectReader(base, at: range, field: "txn", c)
        var id: Int64?, index: Int64?, last: Bool?
        var first = true
        while let name = try r.nextMember(first: &first) {
            switch name {
            case Array("id".utf8): id = try readInteger(&r, "txn.id", c)
            case Array("index".utf8): index = try readInteger(&r, "txn.index", c)
            case Array("last".utf8): last = try readBool(&r, "txn.last", c)
            default: _ = try r.skipValue()
            }
        }
        guard let id else { throw c.fail("txn.id", "missing") }
        guard let index, index >= 0, index <= Int64(Int32.max) else { throw c.fail("txn.index", index == nil ? "missing" : "out of range") }
        guard let last else { throw c.fail("txn.last", "missing") }
        return TransactionInfo(id: id, index: Int(index), isLast: last)
    }

    private func decodeStringArray(_ base: JSONPullReader, at range: Range<Int>, field: String, _ c: DecodingContext) throws -> [String] {
        var r = base
        r.position = range.lowerBound
        guard r.peek() == UInt8(ascii: "[") else { throw c.fail(field, "must be an array of strings") }
        r.position += 1
        var out: [String] = []
        var first = true
        while try r.nextElement(first: &first) { out.append(try readString(&r, field, c)) }
        return out
    }

    // MARK: - Schemas and images

    private func schemaEntry(_ line: [UInt8], at range: Range<Int>, _ c: DecodingContext) throws -> SchemaEntry {
        let bytes = line[range]
        if let last, last.bytes.count == bytes.count, last.bytes.elementsEqual(bytes) { return last }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        if let hit = schemas[hash]?.first(where: { $0.bytes.count == bytes.count && $0.bytes.elementsEqual(bytes) }) {
            last = hit
            return hit
        }
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch let e as JSONSyntaxError {
            throw c.fail("schema", e.description)
        }
        guard case .object = json else { throw c.fail("schema", "must be an object") }
        let schema = try TableSchema(json: json, name: "", line: c.line)
        var columnIndex: [[UInt8]: Int] = [:]
        for (i, col) in schema.columns.enumerated() { columnIndex[Array(col.name.utf8)] = i }
        var keyIndex: [[UInt8]: Int] = [:]
        let keyNames = schema.keyNames
        for (i, k) in keyNames.enumerated() { keyIndex[Array(k.utf8)] = i }
        let entry = SchemaEntry(bytes: Array(bytes), schema: schema, columnIndex: columnIndex, keyIndex: keyIndex, keyCount: keyNames.count)
        if schemaCount >= Self.schemaCacheLimit {
            schemas.removeAll(keepingCapacity: true)
            schemaCount = 0
        }
        schemas[hash, default: []].append(entry)
        schemaCount += 1
        last = entry
        return entry
    }

    /// Reads an image (or the key) whose members must be exactly the schema's column (key)
    /// names, in any order; the result is in schema order. `r` is at the value.
    private func decodeImage(_ r: inout JSONPullReader, field f: Field, entry: SchemaEntry, _ c: DecodingContext) throws -> [SQLiteValue]? {
        let isKey = f == .key
        let field = f.name
        if !isKey, r.peek() == UInt8(ascii: "n") {
            _ = try r.readLiteral()
            return nil
        }
        guard r.peek() == UInt8(ascii: "{") else { throw c.fail(field, isKey ? "must be an object" : "must be an object or null") }
        r.position += 1
        let names = isKey ? entry.keyIndex : entry.columnIndex
        let count = isKey ? entry.keyCount : entry.schema.columns.count
        var values = [SQLiteValue](repeating: .null, count: count)
        var filled = [Bool](repeating: false, count: count)
        var filledCount = 0
        var first = true
        let kind = isKey ? "key" : "column"
        func expected() -> [String] { isKey ? entry.schema.keyNames : entry.schema.columnNames }
        while let name = try r.nextMember(first: &first) {
            guard let i = names[name] else {
                throw c.fail("\(field).\(String(decoding: name, as: UTF8.self))", "not a \(kind) of the schema (expected exactly: \(expected().joined(separator: ", ")))")
            }
            guard !filled[i] else { throw c.fail("\(field).\(expected()[i])", "duplicate member") }
            do {
                values[i] = try readValue(&r)
            } catch let e as ValueDecodingError {
                throw c.fail("\(field).\(expected()[i])", e.reason)
            }
            filled[i] = true
            filledCount += 1
        }
        guard filledCount == count else {
            let names = expected()
            let missing = names.indices.first { !filled[$0] }.map { names[$0] } ?? ""
            throw c.fail("\(field).\(missing)", "missing (an image has exactly the schema's \(kind) names)")
        }
        return values
    }

    /// Reads one value in its JSON form (docs/events.md, "Values").
    private func readValue(_ r: inout JSONPullReader) throws -> SQLiteValue {
        guard let b = r.peek() else { throw ValueDecodingError("missing value") }
        switch b {
        case UInt8(ascii: "\""):
            return .text(try r.readString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let (range, isInteger) = try r.readNumber()
            if isInteger {
                guard let i = r.int64(range) else { throw ValueDecodingError("integer \(r.text(range)) does not fit in 64 bits") }
                return .integer(i)
            }
            guard let d = Double(r.text(range)), d.isFinite else { throw ValueDecodingError("real \(r.text(range)) is out of range") }
            return .real(d)
        case UInt8(ascii: "n"):
            _ = try r.readLiteral()
            return .null
        case UInt8(ascii: "{"):
            r.position += 1
            var first = true
            guard let tag = try r.nextMember(first: &first) else { throw ValueDecodingError("a tagged value must be an object with one string member") }
            guard r.peek() == UInt8(ascii: "\"") else { throw ValueDecodingError("a tagged value must be an object with one string member") }
            let payload = try r.readString()
            guard try r.nextMember(first: &first) == nil else { throw ValueDecodingError("a tagged value must be an object with one string member") }
            switch tag {
            case Array("$blob".utf8):
                guard let bytes = Base64.decode(String(decoding: payload, as: UTF8.self)) else { throw ValueDecodingError("$blob is not valid base64") }
                return .blob(bytes)
            case Array("$text".utf8):
                guard let bytes = Base64.decode(String(decoding: payload, as: UTF8.self)) else { throw ValueDecodingError("$text is not valid base64") }
                return .text(bytes)
            case Array("$real".utf8):
                switch String(decoding: payload, as: UTF8.self) {
                case "inf": return .real(.infinity)
                case "-inf": return .real(-.infinity)
                case "nan": return .real(.nan)
                default: throw ValueDecodingError("$real must be inf, -inf or nan")
                }
            default:
                throw ValueDecodingError("unknown value tag \(String(decoding: tag, as: UTF8.self))")
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            _ = try r.readLiteral()
            throw ValueDecodingError("booleans are not SQLite values; use 0 or 1")
        case UInt8(ascii: "["):
            _ = try r.skipValue()
            throw ValueDecodingError("arrays are not SQLite values")
        default:
            throw r.error("unexpected character")
        }
    }
}
