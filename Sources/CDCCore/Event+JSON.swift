/// The JSON Lines codec of spec v1 (docs/events.md). Field order is fixed, so equal events
/// give equal bytes.
extension Event {
    /// The event as one JSON line, without the trailing newline.
    public func jsonLine() -> [UInt8] {
        jsonLine { schema in
            var w = JSONWriter()
            schema.write(to: &w)
            return w.bytes
        }
    }

    /// The event as one JSON line, taking the schema object's JSON from `schemaJSON` (an
    /// encoder caches it: every event of a table repeats it).
    func jsonLine(schemaJSON: (TableSchema) -> [UInt8]) -> [UInt8] {
        var offset: Int?
        return jsonLine(schemaJSON: schemaJSON, schemaOffset: &offset)
    }

    /// As ``jsonLine(schemaJSON:)``, also telling at which byte the schema's JSON starts
    /// (`nil` for events without a schema).
    func jsonLine(schemaJSON: (TableSchema) -> [UInt8], schemaOffset: inout Int?) -> [UInt8] {
        jsonLine(schemaJSON: schemaJSON, memberTokens: { SchemaMemberTokens($0, source: $1) }, schemaOffset: &schemaOffset)
    }

    /// As ``jsonLine(schemaJSON:schemaOffset:)``, with the key and column member names of a
    /// schema from `memberTokens` (an encoder caches them per schema).
    func jsonLine(schemaJSON: (TableSchema) -> [UInt8], memberTokens: (TableSchema?, SourceInfo) -> SchemaMemberTokens, schemaOffset: inout Int?) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 512)
        write(to: &w, schemaJSON: schemaJSON, memberTokens: memberTokens, schemaOffset: &schemaOffset)
        return w.bytes
    }

    /// Writes the event's JSON line to `w`, which must be empty (``JSONWriter/reset()``):
    /// `schemaOffset` is a position in it.
    func write(to w: inout JSONWriter, schemaJSON: (TableSchema) -> [UInt8], memberTokens: (TableSchema?, SourceInfo) -> SchemaMemberTokens, schemaOffset: inout Int?) {
        // One switch an event: every `case let` of the body copies its payload.
        switch body {
        case .change(let c):
            // One lookup an event: the table's tokens carry the source object too.
            let tokens = memberTokens(c.table, source)
            writeEnvelope(type: "change", source: tokens, to: &w)
            w.key(ascii: "txn")
            w.beginObject()
            w.key(ascii: "id"); w.integer(c.transaction.id)
            w.key(ascii: "index"); w.integer(c.transaction.index)
            w.key(ascii: "last"); w.bool(c.transaction.isLast)
            w.endObject()
            w.key(ascii: "table"); w.raw(tokens.tableName)
            w.key(ascii: "op"); w.string(ascii: c.operation.asciiName)
            w.key(ascii: "schema")
            schemaOffset = w.count
            w.raw(schemaJSON(c.table))
            w.key(ascii: "key"); Self.writeMembers(c.key, names: tokens.key, to: &w)
            w.key(ascii: "before"); Self.writeImage(c.before, names: tokens.columns, to: &w)
            w.key(ascii: "after"); Self.writeImage(c.after, names: tokens.columns, to: &w)
            w.key(ascii: "version"); w.integer(lsn.rawValue)
        case .snapshotStart(let e):
            writeEnvelope(type: "snapshot_start", source: memberTokens(nil, source), to: &w)
            Self.writeEpoch(e, to: &w)
        case .snapshotEnd(let e):
            writeEnvelope(type: "snapshot_end", source: memberTokens(nil, source), to: &w)
            Self.writeEpoch(e, to: &w)
        case .heartbeat:
            writeEnvelope(type: "heartbeat", source: memberTokens(nil, source), to: &w)
        case .schema(let s):
            writeEnvelope(type: "schema", source: memberTokens(nil, source), to: &w)
            w.key(ascii: "table"); w.string(s.table)
            w.key(ascii: "change"); w.string(s.kind.rawValue)
            w.key(ascii: "previous"); w.string(s.previousName)
            w.key(ascii: "schema")
            schemaOffset = w.count
            w.raw(schemaJSON(s.schema))
        }
        w.endObject()
    }

    /// The opening `{` and the members every event has: `v`, `lsn`, `type` (the same text as
    /// ``typeName``), `source`, `ts_ms`.
    private func writeEnvelope(type: StaticString, source tokens: SchemaMemberTokens, to w: inout JSONWriter) {
        w.beginObject()
        w.key(ascii: "v"); w.integer(eventSpecVersion)
        w.key(ascii: "lsn"); w.integer(lsn.rawValue)
        w.key(ascii: "type"); w.string(ascii: type)
        w.key(ascii: "source"); w.raw(tokens.source)
        w.key(ascii: "ts_ms"); w.integer(timestampMilliseconds)
    }

    private static func writeEpoch(_ e: SnapshotEpoch, to w: inout JSONWriter) {
        w.key(ascii: "epoch"); w.integer(e.epoch.rawValue)
        w.key(ascii: "reason"); w.string(e.reason)
        w.key(ascii: "tables")
        w.beginArray()
        for t in e.tables { w.string(t) }
        w.endArray()
    }

    /// The event as one JSON line, as a string.
    public var jsonString: String { String(decoding: jsonLine(), as: UTF8.self) }

    private static func writeImage(_ image: [SQLiteValue]?, names: MemberNames, to w: inout JSONWriter) {
        guard let image else { w.null(); return }
        writeMembers(image, names: names, to: &w)
    }

    /// Writes `{"name":value,…}`, pairing names and values up to the shorter of the two.
    private static func writeMembers(_ values: [SQLiteValue], names: MemberNames, to w: inout JSONWriter) {
        w.beginObject()
        // Through buffer pointers: their elements are borrowed in place, where the array's
        // would be retained and released one by one.
        values.withUnsafeBufferPointer { values in
            names.bytes.withUnsafeBytes { bytes in
                names.ends.withUnsafeBufferPointer { ends in
                    var start = 0
                    for i in 0..<Swift.min(values.count, ends.count) {
                        w.key(token: UnsafeRawBufferPointer(rebasing: bytes[start..<ends[i]]))
                        values[i].write(to: &w)
                        start = ends[i]
                    }
                }
            }
        }
        w.endObject()
    }

    /// Decodes one JSON line.
    ///
    /// - Parameters:
    ///   - line: the line's bytes, without the newline.
    ///   - lineNumber: 1-based line number for the error, when known.
    /// - Throws: ``EventDecodingError`` naming the line and the field that is wrong.
    public init<C: Collection>(jsonLine line: C, lineNumber: Int? = nil) throws where C.Element == UInt8 {
        self = try EventDecoder().decode(Array(line), lineNumber: lineNumber)
    }
}

extension TableSchema {
    /// Writes `{"version":…,"without_rowid":…,"columns":[{"name","type","pk","notnull","default"}…]}`.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key(ascii: "version"); w.integer(version)
        w.key(ascii: "without_rowid"); w.bool(isWithoutRowID)
        w.key(ascii: "columns")
        w.beginArray()
        for c in columns {
            w.beginObject()
            w.key(ascii: "name"); w.string(c.name)
            w.key(ascii: "type"); w.string(c.declaredType)
            w.key(ascii: "pk"); w.integer(c.primaryKeyPosition)
            w.key(ascii: "notnull"); w.bool(c.isNotNull)
            w.key(ascii: "default")
            if let d = c.defaultSQL { w.string(d) } else { w.null() }
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    /// Reads a schema object as ``write(to:)`` writes it (the `schema` member of a change
    /// event, without the table's name, which it does not hold).
    /// - Throws: ``EventDecodingError`` naming the field, ``JSONSyntaxError`` for text that is
    ///   not JSON.
    public init(schemaJSON text: String, name: String) throws {
        try self.init(json: try JSONParser.parse(Array(text.utf8)), name: name, line: nil)
    }

    /// Reads a schema object (the `schema` member of a change event).
    /// - Throws: ``EventDecodingError`` naming the field.
    init(json: JSONValue, name: String, line: Int?) throws {
        let r = FieldReader(root: json, line: line)
        let version = try r.integer("schema.version", in: json)
        let withoutRowID = try r.bool("schema.without_rowid", in: json)
        guard case .array(let cols)? = json["columns"] else {
            throw EventDecodingError(line: r.line, field: "schema.columns", reason: "must be an array")
        }
        var columns: [ColumnSchema] = []
        var names = Set<String>()
        for (i, c) in cols.enumerated() {
            let path = "schema.columns[\(i)]"
            let colName = try r.string("\(path).name", in: c)
            guard names.insert(colName.lowercased()).inserted else {
                throw EventDecodingError(line: r.line, field: "\(path).name", reason: "duplicate column name")
            }
            let pk = try r.integer("\(path).pk", in: c)
            guard pk >= 0, pk <= Int64(cols.count) else { throw EventDecodingError(line: r.line, field: "\(path).pk", reason: "key position out of range") }
            let def: String?
            switch c["default"] {
            case .string(let s)?: def = s
            case .null?, nil: def = nil
            default: throw EventDecodingError(line: r.line, field: "\(path).default", reason: "must be a string or null")
            }
            columns.append(ColumnSchema(
                name: colName,
                declaredType: try r.string("\(path).type", in: c),
                primaryKeyPosition: Int(pk),
                isNotNull: try r.bool("\(path).notnull", in: c),
                defaultSQL: def))
        }
        guard !columns.isEmpty else { throw EventDecodingError(line: r.line, field: "schema.columns", reason: "a table has at least one column") }
        self.init(name: name, version: version, columns: columns, isWithoutRowID: withoutRowID)
        if hasRowIDKey && rowIDKeyName == nil {
            throw EventDecodingError(line: r.line, field: "schema.columns", reason: "no primary key and every rowid alias is a column name")
        }
    }
}

/// Why an event line could not be decoded: the line (1-based, when known), the field path
/// (for example `after.total` or `txn.id`) and what is wrong.
public struct EventDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var line: Int?
    public var field: String?
    public var reason: String

    public init(line: Int?, field: String?, reason: String) {
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var s = "malformed event"
        if let line { s += " on line \(line)" }
        if let field { s += ", field \(field)" }
        return s + ": " + reason
    }
}

/// Reads typed fields of a schema object with errors that name the field path.
private struct FieldReader {
    let root: JSONValue
    let line: Int?

    func fail(_ field: String, _ reason: String) -> EventDecodingError {
        EventDecodingError(line: line, field: field, reason: reason)
    }

    func member(_ path: String, in object: JSONValue?) throws -> JSONValue {
        let container = object ?? root
        guard case .object = container else { throw fail(path, "expected an object around this field") }
        let name = path.lastIndex(of: ".").map { String(path[path.index(after: $0)...]) } ?? path
        guard let v = container[name] else { throw fail(path, "missing") }
        return v
    }

    func integer(_ path: String, in object: JSONValue? = nil) throws -> Int64 {
        guard case .number(let t) = try member(path, in: object), let i = Int64(t) else { throw fail(path, "must be a 64-bit integer") }
        return i
    }

    func string(_ path: String, in object: JSONValue? = nil) throws -> String {
        guard case .string(let s) = try member(path, in: object) else { throw fail(path, "must be a string") }
        return s
    }

    func bool(_ path: String, in object: JSONValue? = nil) throws -> Bool {
        guard case .bool(let b) = try member(path, in: object) else { throw fail(path, "must be true or false") }
        return b
    }
}

/// What every event of a table repeats, encoded once: the source object, the table name,
/// and the key and column member names (`"name":`).
///
/// A class: an event's encoding passes it around, and a reference is one retain where the
/// members would be several.
final class SchemaMemberTokens {
    let source: [UInt8]
    let tableName: [UInt8]
    let key: MemberNames
    let columns: MemberNames

    init(_ schema: TableSchema?, source info: SourceInfo) {
        var w = JSONWriter()
        w.beginObject()
        w.key(ascii: "service"); w.string(info.service)
        w.key(ascii: "db"); w.string(info.database)
        w.key(ascii: "mode"); w.string(info.mode.rawValue)
        w.endObject()
        source = w.bytes
        var t = JSONWriter()
        if let schema { t.string(schema.name) }
        tableName = t.bytes
        key = MemberNames(schema?.keyNames ?? [])
        columns = MemberNames(schema?.columnNames ?? [])
    }
}

/// Member names encoded as `"name":`, one after another in one buffer (one allocation, and
/// no reference to retain per name when an image is written).
struct MemberNames {
    /// The tokens, concatenated.
    var bytes: [UInt8] = []
    /// Where each token ends in `bytes` (each starts where the previous one ends).
    var ends: [Int] = []

    init(_ names: [String]) {
        var w = JSONWriter()
        ends.reserveCapacity(names.count)
        for name in names {
            w.appendMemberToken(name)
            ends.append(w.count)
        }
        bytes = w.bytes
    }
}

extension Operation {
    /// ``rawValue`` as a static string, which the writer copies without examining it.
    var asciiName: StaticString {
        switch self {
        case .insert: return "insert"
        case .update: return "update"
        case .delete: return "delete"
        case .snapshot: return "snapshot"
        }
    }
}
