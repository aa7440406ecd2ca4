/// Decodes event lines (spec v1, docs/events.md) in one pass over the bytes, without building
/// a JSON tree, and keeps the table schemas it has seen: events of one table repeat the same
/// schema object, which is then decoded once and found again by its bytes.
///
/// Not `Sendable`: one reader owns one decoder (its cache is per reader).
public final class EventDecoder {
    /// At most this many distinct schemas are cached; the cache is emptied when full.
    public static let schemaCacheLimit = 1024

    struct SchemaEntry {
        var bytes: [UInt8]
        var schema: TableSchema
        var columnIndex: [[UInt8]: Int]
        var keyIndex: [[UInt8]: Int]
        var columnNameBytes: [[UInt8]]
        var keyNameBytes: [[UInt8]]
        var keyCount: Int
    }

    /// Schemas by a 64-bit FNV-1a hash of their JSON bytes (collisions are resolved by
    /// comparing the bytes); `last` answers runs of events of one table without hashing.
    private var schemas: [UInt64: [SchemaEntry]] = [:]
    private var schemaCount = 0
    private var last: SchemaEntry?

    public init() {}

    enum Field: Int, CaseIterable {
        case v, lsn, type, source, tsMilliseconds, txn, table, op, schema, key, before, after, version, epoch, reason, tables, change, previous
        var name: String {
            switch self {
            case .v: return "v"
            case .lsn: return "lsn"
            case .type: return "type"
            case .source: return "source"
            case .tsMilliseconds: return "ts_ms"
            case .txn: return "txn"
            case .table: return "table"
            case .op: return "op"
            case .schema: return "schema"
            case .key: return "key"
            case .before: return "before"
            case .after: return "after"
            case .version: return "version"
            case .epoch: return "epoch"
            case .reason: return "reason"
            case .tables: return "tables"
            case .change: return "change"
            case .previous: return "previous"
            }
        }

        /// The field a member name spells, without allocating.
        static func named(_ t: JSONPullReader.Token, in r: JSONPullReader) -> Field? {
            switch t {
            case .range(let range) where range.count <= 8:
                switch range.count {
                case 1: return r.token(t, equals: "v") ? .v : nil
                case 2: return r.token(t, equals: "op") ? .op : nil
                case 3: return r.token(t, equals: "lsn") ? .lsn : r.token(t, equals: "txn") ? .txn : r.token(t, equals: "key") ? .key : nil
                case 4: return r.token(t, equals: "type") ? .type : nil
                case 5: return r.token(t, equals: "ts_ms") ? .tsMilliseconds : r.token(t, equals: "table") ? .table : r.token(t, equals: "after") ? .after : r.token(t, equals: "epoch") ? .epoch : nil
                case 6: return r.token(t, equals: "source") ? .source : r.token(t, equals: "schema") ? .schema : r.token(t, equals: "before") ? .before : r.token(t, equals: "reason") ? .reason : r.token(t, equals: "tables") ? .tables : r.token(t, equals: "change") ? .change : nil
                case 7: return r.token(t, equals: "version") ? .version : nil
                case 8: return r.token(t, equals: "previous") ? .previous : nil
                default: return nil
                }
            case .range:
                return nil
            case .decoded(let d):
                return Field.allCases.first { Array($0.name.utf8) == d }
            }
        }
    }

    /// The source of the last event, reused while events repeat it byte for byte.
    var lastSource: (bytes: [UInt8], info: SourceInfo)?
    /// The last table name, reused while events repeat it.
    private var lastTableName: (bytes: [UInt8], name: String)?

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

    struct DecodingContext {
        var line: Int?
        var field: String?
        func fail(_ field: String, _ reason: String) -> EventDecodingError {
            EventDecodingError(line: line, field: field, reason: reason)
        }
    }

    /// An image read as met (`value`), or its range kept until the schema is known.
    enum ImageSlot {
        case absent
        case deferred(Range<Int>)
        case value([SQLiteValue]?)
    }

    private func decodeEvent(_ line: [UInt8], _ c: inout DecodingContext) throws -> Event {
        var r = try JSONPullReader(line)
        try r.expect(UInt8(ascii: "{"), "an event object")
        var v: Int64?, lsnValue: Int64?, ts: Int64?, version: Int64?, epoch: Int64?
        var typeToken: JSONPullReader.Token?, opToken: JSONPullReader.Token?, tableToken: JSONPullReader.Token?
        var reason: String?, changeKind: String?, previous: String?
        var sourceRange: Range<Int>?, txnRange: Range<Int>?, tablesRange: Range<Int>?
        var entry: SchemaEntry?
        var key = ImageSlot.absent, before = ImageSlot.absent, after = ImageSlot.absent
        var seen: UInt32 = 0
        var unknown: Set<[UInt8]> = []
        var first = true
        while let name = try r.nextMemberToken(first: &first) {
            guard let field = Field.named(name, in: r) else {
                // Additive fields of v1 are skipped, but never twice (RFC 8259 §4 leaves
                // duplicates undefined; the spec rejects them).
                let bytes = r.tokenBytes(name)
                guard unknown.insert(bytes).inserted else { throw c.fail(String(decoding: bytes, as: UTF8.self), "duplicate member") }
                _ = try r.skipValue()
                continue
            }
            c.field = field.name
            let bit: UInt32 = 1 << UInt32(field.rawValue)
            guard seen & bit == 0 else { throw c.fail(field.name, "duplicate member") }
            seen |= bit
            switch field {
            case .v: v = try readInteger(&r, field.name, c)
            case .lsn: lsnValue = try readInteger(&r, field.name, c)
            case .tsMilliseconds: ts = try readInteger(&r, field.name, c)
            case .version: version = try readInteger(&r, field.name, c)
            case .epoch: epoch = try readInteger(&r, field.name, c)
            case .type: typeToken = try readStringToken(&r, field.name, c)
            case .op: opToken = try readStringToken(&r, field.name, c)
            case .table: tableToken = try readStringToken(&r, field.name, c)
            case .reason: reason = try readString(&r, field.name, c)
            case .change: changeKind = try readString(&r, field.name, c)
            case .previous: previous = try readString(&r, field.name, c)
            case .source: sourceRange = try skipKnown(&r, lastSource?.bytes)
            case .txn: txnRange = try r.skipValue()
            case .tables: tablesRange = try r.skipValue()
            case .schema: entry = try schemaEntry(line, at: try skipKnown(&r, last?.bytes), c)
            case .key, .before, .after:
                let slot: ImageSlot
                if let entry {
                    slot = .value(try decodeImage(&r, field: field, entry: entry, c))
                } else {
                    slot = .deferred(try r.skipValue())
                }
                switch field {
                case .key: key = slot
                case .before: before = slot
                default: after = slot
                }
            }
        }
        try r.expectEnd()
        c.field = nil

        func required<T>(_ value: T?, _ f: Field) throws -> T {
            guard let value else { throw c.fail(f.name, "missing") }
            return value
        }
        let specVersion = try required(v, .v)
        guard specVersion == Int64(eventSpecVersion) else { throw c.fail("v", "spec version \(specVersion) is not supported (this build reads \(eventSpecVersion))") }
        let lsn = LSN(try required(lsnValue, .lsn))
        guard lsn.rawValue > 0 else { throw c.fail("lsn", "must be positive") }
        let type = try required(typeToken, .type)
        let source = try decodeSource(r, at: try required(sourceRange, .source), c)
        let timestamp = try required(ts, .tsMilliseconds)

        let body: Event.Body
        if r.token(type, equals: "change") {
            let transaction = try decodeTransaction(r, at: try required(txnRange, .txn), c)
            let tableName = tableNameString(try required(tableToken, .table), r)
            let opT = try required(opToken, .op)
            let op: Operation
            if r.token(opT, equals: "insert") { op = .insert } else if r.token(opT, equals: "update") { op = .update }
            else if r.token(opT, equals: "delete") { op = .delete } else if r.token(opT, equals: "snapshot") { op = .snapshot }
            else { throw c.fail("op", "unknown operation \"\(String(decoding: r.tokenBytes(opT), as: UTF8.self))\"") }
            guard var entry else { throw c.fail("schema", "missing") }
            entry.schema.name = tableName
            func image(_ slot: ImageSlot, _ f: Field) throws -> [SQLiteValue]? {
                switch slot {
                case .absent: throw c.fail(f.name, "missing")
                case .value(let v): return v
                case .deferred(let range):
                    var sub = r
                    sub.position = range.lowerBound
                    return try decodeImage(&sub, field: f, entry: entry, c)
                }
            }
            let keyValues = try image(key, .key) ?? []
            let beforeImage = try image(before, .before)
            let afterImage = try image(after, .after)
            switch op {
            case .insert, .snapshot:
                guard afterImage != nil else { throw c.fail("after", "an \(op.rawValue) needs an after image") }
                guard beforeImage == nil else { throw c.fail("before", "an \(op.rawValue) has no before image") }
            case .update:
                guard beforeImage != nil else { throw c.fail("before", "an update needs a before image") }
                guard afterImage != nil else { throw c.fail("after", "an update needs an after image") }
            case .delete:
                guard beforeImage != nil else { throw c.fail("before", "a delete needs a before image") }
                guard afterImage == nil else { throw c.fail("after", "a delete has no after image") }
            }
            guard try required(version, .version) == lsn.rawValue else { throw c.fail("version", "row version must equal the LSN") }
            body = .change(RowChange(transaction: transaction, table: entry.schema, operation: op, key: keyValues, before: beforeImage, after: afterImage))
        } else if r.token(type, equals: "snapshot_start") || r.token(type, equals: "snapshot_end") {
            let marker = SnapshotEpoch(epoch: LSN(try required(epoch, .epoch)), tables: try decodeStringArray(r, at: try required(tablesRange, .tables), field: "tables", c),
                                       reason: try required(reason, .reason))
            body = r.token(type, equals: "snapshot_start") ? .snapshotStart(marker) : .snapshotEnd(marker)
        } else if r.token(type, equals: "heartbeat") {
            body = .heartbeat
        } else if r.token(type, equals: "schema") {
            let tableName = tableNameString(try required(tableToken, .table), r)
            let kindText = try required(changeKind, .change)
            guard let kind = SchemaChange.Kind(rawValue: kindText) else { throw c.fail("change", "unknown schema change \"\(kindText)\"") }
            guard var entry else { throw c.fail("schema", "missing") }
            entry.schema.name = tableName
            body = .schema(SchemaChange(table: tableName, kind: kind, previousName: try required(previous, .previous), schema: entry.schema))
        } else {
            throw c.fail("type", "unknown event type \"\(String(decoding: r.tokenBytes(type), as: UTF8.self))\"")
        }
        return Event(lsn: lsn, source: source, timestampMilliseconds: timestamp, body: body)
    }

    /// Skips a value; when the input repeats `known` (bytes of a value already validated)
    /// at this position and a delimiter follows, jumps over it without scanning: every
    /// event of a table repeats its source and schema objects.
    private func skipKnown(_ r: inout JSONPullReader, _ known: [UInt8]?) throws -> Range<Int> {
        if let known, let start = r.peek().map({ _ in r.position }) {
            let end = start + known.count
            if end < r.bytes.count, bytesEqual(r.bytes, start..<end, known) {
                let next = r.bytes[end]
                if next == UInt8(ascii: ",") || next == UInt8(ascii: "}") || next == 0x20 || next == 0x0A || next == 0x0D || next == 0x09 {
                    r.position = end
                    return start..<end
                }
            }
        }
        return try r.skipValue()
    }

    private func tableNameString(_ t: JSONPullReader.Token, _ r: JSONPullReader) -> String {
        if let last = lastTableName, r.token(t, equals: last.bytes) { return last.name }
        let bytes = r.tokenBytes(t)
        let name = String(decoding: bytes, as: UTF8.self)
        lastTableName = (bytes, name)
        return name
    }

    // MARK: - Schemas and images

    private func schemaEntry(_ line: [UInt8], at range: Range<Int>, _ c: DecodingContext) throws -> SchemaEntry {
        let bytes = line[range]
        if let last, bytesEqual(line, range, last.bytes) { return last }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        if let hit = schemas[hash]?.first(where: { bytesEqual(line, range, $0.bytes) }) {
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
        let entry = SchemaEntry(bytes: Array(bytes), schema: schema, columnIndex: columnIndex, keyIndex: keyIndex,
                                columnNameBytes: schema.columns.map { Array($0.name.utf8) }, keyNameBytes: keyNames.map { Array($0.utf8) },
                                keyCount: keyNames.count)
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
        let nameBytes = isKey ? entry.keyNameBytes : entry.columnNameBytes
        let count = isKey ? entry.keyCount : entry.schema.columns.count
        var values = [SQLiteValue](repeating: .null, count: count)
        // Which members were seen: a bit mask for the usual table of at most 64 columns.
        var filledMask: UInt64 = 0
        var filledOverflow = count > 64 ? [Bool](repeating: false, count: count) : []
        func isFilled(_ i: Int) -> Bool { i < 64 ? filledMask & (1 << UInt64(i)) != 0 : filledOverflow[i] }
        var filledCount = 0
        var first = true
        let kind = isKey ? "key" : "column"
        func expected() -> [String] { isKey ? entry.schema.keyNames : entry.schema.columnNames }
        while let token = try r.nextMemberToken(first: &first) {
            // Members normally come in schema order: try the next one before a lookup.
            let i: Int
            if filledCount < count, r.token(token, equals: nameBytes[filledCount]) {
                i = filledCount
            } else if let found = names[r.tokenBytes(token)] {
                i = found
            } else {
                throw c.fail("\(field).\(String(decoding: r.tokenBytes(token), as: UTF8.self))", "not a \(kind) of the schema (expected exactly: \(expected().joined(separator: ", ")))")
            }
            guard !isFilled(i) else { throw c.fail("\(field).\(expected()[i])", "duplicate member") }
            do {
                values[i] = try readValue(&r)
            } catch let e as ValueDecodingError {
                throw c.fail("\(field).\(expected()[i])", e.reason)
            }
            if i < 64 { filledMask |= 1 << UInt64(i) } else { filledOverflow[i] = true }
            filledCount += 1
        }
        guard filledCount == count else {
            let names = expected()
            let missing = names.indices.first { !isFilled($0) }.map { names[$0] } ?? ""
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
                guard let bytes = Base64.decode(utf8: payload) else { throw ValueDecodingError("$blob is not valid base64") }
                return .blob(bytes)
            case Array("$text".utf8):
                guard let bytes = Base64.decode(utf8: payload) else { throw ValueDecodingError("$text is not valid base64") }
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

