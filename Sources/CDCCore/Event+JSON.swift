/// The JSON Lines codec of spec v1 (docs/events.md). Field order is fixed, so equal events
/// give equal bytes.
extension Event {
    /// The event as one JSON line, without the trailing newline.
    public func jsonLine() -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 512)
        w.beginObject()
        w.key("v"); w.integer(eventSpecVersion)
        w.key("lsn"); w.integer(lsn.rawValue)
        w.key("type"); w.string(typeName)
        w.key("source")
        w.beginObject()
        w.key("service"); w.string(source.service)
        w.key("db"); w.string(source.database)
        w.key("mode"); w.string(source.mode.rawValue)
        w.endObject()
        w.key("ts_ms"); w.integer(timestampMilliseconds)
        switch body {
        case .change(let c):
            w.key("txn")
            w.beginObject()
            w.key("id"); w.integer(c.transaction.id)
            w.key("index"); w.integer(c.transaction.index)
            w.key("last"); w.bool(c.transaction.isLast)
            w.endObject()
            w.key("table"); w.string(c.table.name)
            w.key("op"); w.string(c.operation.rawValue)
            w.key("schema"); c.table.write(to: &w)
            w.key("key")
            w.beginObject()
            for (name, value) in zip(c.table.keyNames, c.key) {
                w.key(name); value.write(to: &w)
            }
            w.endObject()
            w.key("before"); Self.writeImage(c.before, schema: c.table, to: &w)
            w.key("after"); Self.writeImage(c.after, schema: c.table, to: &w)
            w.key("version"); w.integer(lsn.rawValue)
        case .snapshotStart(let e), .snapshotEnd(let e):
            w.key("epoch"); w.integer(e.epoch.rawValue)
            w.key("reason"); w.string(e.reason)
            w.key("tables")
            w.beginArray()
            for t in e.tables { w.string(t) }
            w.endArray()
        case .heartbeat:
            break
        }
        w.endObject()
        return w.bytes
    }

    /// The event as one JSON line, as a string.
    public var jsonString: String { String(decoding: jsonLine(), as: UTF8.self) }

    private static func writeImage(_ image: [SQLiteValue]?, schema: TableSchema, to w: inout JSONWriter) {
        guard let image else { w.null(); return }
        w.beginObject()
        for (column, value) in zip(schema.columns, image) {
            w.key(column.name); value.write(to: &w)
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
        let root: JSONValue
        do {
            root = try JSONParser.parse(line)
        } catch let e as JSONSyntaxError {
            throw EventDecodingError(line: lineNumber, field: nil, reason: e.description)
        }
        let r = FieldReader(root: root, line: lineNumber)
        let v = try r.integer("v")
        guard v == Int64(eventSpecVersion) else {
            throw EventDecodingError(line: lineNumber, field: "v", reason: "spec version \(v) is not supported (this build reads \(eventSpecVersion))")
        }
        lsn = LSN(try r.integer("lsn"))
        guard lsn.rawValue > 0 else { throw EventDecodingError(line: lineNumber, field: "lsn", reason: "must be positive") }
        let type = try r.string("type")
        let src = try r.object("source")
        let modeName = try r.string("source.mode", in: src)
        guard let mode = CaptureMode(rawValue: modeName) else {
            throw EventDecodingError(line: lineNumber, field: "source.mode", reason: "unknown capture mode \"\(modeName)\"")
        }
        source = SourceInfo(service: try r.string("source.service", in: src), database: try r.string("source.db", in: src), mode: mode)
        timestampMilliseconds = try r.integer("ts_ms")
        switch type {
        case "change":
            let txn = try r.object("txn")
            let transaction = TransactionInfo(
                id: try r.integer("txn.id", in: txn),
                index: Int(try r.integer("txn.index", in: txn)),
                isLast: try r.bool("txn.last", in: txn))
            let tableName = try r.string("table")
            let opName = try r.string("op")
            guard let op = Operation(rawValue: opName) else {
                throw EventDecodingError(line: lineNumber, field: "op", reason: "unknown operation \"\(opName)\"")
            }
            let schema = try TableSchema(json: try r.object("schema"), name: tableName, reader: r)
            let key = try r.image("key", names: schema.keyNames, required: true) ?? []
            let before = try r.image("before", names: schema.columnNames, required: false)
            let after = try r.image("after", names: schema.columnNames, required: false)
            switch op {
            case .insert, .snapshot:
                guard after != nil else { throw EventDecodingError(line: lineNumber, field: "after", reason: "an \(op.rawValue) needs an after image") }
                guard before == nil else { throw EventDecodingError(line: lineNumber, field: "before", reason: "an \(op.rawValue) has no before image") }
            case .update:
                guard before != nil else { throw EventDecodingError(line: lineNumber, field: "before", reason: "an update needs a before image") }
                guard after != nil else { throw EventDecodingError(line: lineNumber, field: "after", reason: "an update needs an after image") }
            case .delete:
                guard before != nil else { throw EventDecodingError(line: lineNumber, field: "before", reason: "a delete needs a before image") }
                guard after == nil else { throw EventDecodingError(line: lineNumber, field: "after", reason: "a delete has no after image") }
            }
            let version = try r.integer("version")
            guard version == lsn.rawValue else { throw EventDecodingError(line: lineNumber, field: "version", reason: "row version must equal the LSN") }
            body = .change(RowChange(transaction: transaction, table: schema, operation: op, key: key, before: before, after: after))
        case "snapshot_start", "snapshot_end":
            let epoch = SnapshotEpoch(
                epoch: LSN(try r.integer("epoch")),
                tables: try r.stringArray("tables"),
                reason: try r.string("reason"))
            body = type == "snapshot_start" ? .snapshotStart(epoch) : .snapshotEnd(epoch)
        case "heartbeat":
            body = .heartbeat
        default:
            throw EventDecodingError(line: lineNumber, field: "type", reason: "unknown event type \"\(type)\"")
        }
    }
}

extension TableSchema {
    /// Writes `{"version":…,"without_rowid":…,"columns":[{"name","type","pk","notnull","default"}…]}`.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("version"); w.integer(version)
        w.key("without_rowid"); w.bool(isWithoutRowID)
        w.key("columns")
        w.beginArray()
        for c in columns {
            w.beginObject()
            w.key("name"); w.string(c.name)
            w.key("type"); w.string(c.declaredType)
            w.key("pk"); w.integer(c.primaryKeyPosition)
            w.key("notnull"); w.bool(c.isNotNull)
            w.key("default")
            if let d = c.defaultSQL { w.string(d) } else { w.null() }
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    fileprivate init(json: JSONValue, name: String, reader r: FieldReader) throws {
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

/// Reads typed fields with errors that name the field path.
private struct FieldReader {
    let root: JSONValue
    let line: Int?

    func fail(_ field: String, _ reason: String) -> EventDecodingError {
        EventDecodingError(line: line, field: field, reason: reason)
    }

    func member(_ path: String, in object: JSONValue?) throws -> JSONValue {
        let container = object ?? root
        guard case .object = container else { throw fail(path, "expected an object around this field") }
        let name = path.split(separator: ".").last.map(String.init) ?? path
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

    func object(_ path: String) throws -> JSONValue {
        let v = try member(path, in: nil)
        guard case .object = v else { throw fail(path, "must be an object") }
        return v
    }

    func stringArray(_ path: String) throws -> [String] {
        guard case .array(let a) = try member(path, in: nil) else { throw fail(path, "must be an array of strings") }
        return try a.map {
            guard case .string(let s) = $0 else { throw fail(path, "must be an array of strings") }
            return s
        }
    }

    /// Reads an image object whose members must be exactly `names` (in any order; the
    /// result is in the order of `names`).
    func image(_ path: String, names: [String], required: Bool) throws -> [SQLiteValue]? {
        let v = try member(path, in: nil)
        if case .null = v, !required { return nil }
        guard case .object(let members) = v else { throw fail(path, required ? "must be an object" : "must be an object or null") }
        let kind = path == "key" ? "key" : "column"
        guard members.count == names.count else {
            throw fail(path, "must have exactly the schema's \(kind) names: \(names.joined(separator: ", "))")
        }
        return try names.map { name in
            guard let json = members.first(where: { $0.0 == name })?.1 else {
                throw fail("\(path).\(name)", "missing (an image has exactly the schema's \(kind) names)")
            }
            do { return try SQLiteValue(json: json) } catch let e as ValueDecodingError {
                throw fail("\(path).\(name)", e.reason)
            }
        }
    }
}
