import CDCCore
import CDCSQLite

/// The schema objects a format-2 log stores once (`cdc_schemas`) and references from its
/// events (`{"$ref":N}` at byte `schema_at` of the stored line), as this connection knows them.
struct SchemaReferenceCache {
    private var ids: [[UInt8]: Int64] = [:]
    private var jsonByID: [Int64: [UInt8]] = [:]
    /// Schemas stored by the append in progress: gone again if it rolls back.
    private var unsaved: [[UInt8]] = []
    /// The last schema referenced: events come in runs of one table, and comparing its bytes
    /// (memcmp) is much cheaper than hashing them byte by byte for the dictionary.
    private var last: (json: [UInt8], id: Int64)?

    mutating func id(of json: [UInt8]) -> Int64? {
        if let last, last.json == json { return last.id }
        guard let id = ids[json] else { return nil }
        last = (json, id)
        return id
    }
    func json(of id: Int64) -> [UInt8]? { jsonByID[id] }

    mutating func remember(_ json: [UInt8], id: Int64, saved: Bool) {
        ids[json] = id
        last = (json, id)
        jsonByID[id] = json
        if !saved { unsaved.append(json) }
    }

    /// The append committed: what it stored is in the file.
    mutating func commit() { unsaved.removeAll() }

    /// The append rolled back: what it stored is not in the file.
    mutating func forgetUnsaved() {
        for json in unsaved {
            if let id = ids.removeValue(forKey: json) { jsonByID[id] = nil }
        }
        unsaved.removeAll()
        last = nil
    }
}

extension EventLog {
    /// The reference to store for a schema object, storing the object when it is new (in the
    /// append's transaction).
    /// - Returns: the bytes `{"$ref":N}`.
    /// - Throws: ``SQLiteError``.
    func schemaReference(for json: [UInt8]) throws -> [UInt8] {
        let id: Int64
        if let known = schemaReferences.id(of: json) {
            id = known
        } else if case .integer(let found)? = try connection.scalar("SELECT id FROM cdc_schemas WHERE json = ?", [.text(json)]) {
            id = found
            schemaReferences.remember(json, id: id, saved: true)
        } else {
            try connection.execute("INSERT INTO cdc_schemas(json) VALUES (?)", [.text(json)])
            id = connection.lastInsertRowID
            schemaReferences.remember(json, id: id, saved: false)
        }
        return Array("{\"$ref\":\(id)}".utf8)
    }

    /// The stored line with its schema reference (at byte `at`, or none when `at` is NULL)
    /// replaced by the schema object: the event's JSON line as the agent encoded it.
    /// - Throws: ``EventLogError/corruptEvent`` when the reference is malformed or names no
    ///   stored schema.
    func expandSchemaReference(in line: [UInt8], at: SQLiteValue, lsn: LSN) throws -> [UInt8] {
        guard case .integer(let offset64) = at else { return line }
        let prefix = Array("{\"$ref\":".utf8)
        let offset = Int(offset64)
        guard offset >= 0, offset + prefix.count < line.count, Array(line[offset..<(offset + prefix.count)]) == prefix else {
            throw EventLogError.corruptEvent(path: path, lsn: lsn, reason: "its schema reference at byte \(offset) is malformed")
        }
        var end = offset + prefix.count
        var id: Int64 = 0
        while end < line.count, line[end] >= UInt8(ascii: "0"), line[end] <= UInt8(ascii: "9"), id < Int64.max / 10 {
            id = id * 10 + Int64(line[end] - UInt8(ascii: "0"))
            end += 1
        }
        guard end < line.count, line[end] == UInt8(ascii: "}"), end > offset + prefix.count else {
            throw EventLogError.corruptEvent(path: path, lsn: lsn, reason: "its schema reference at byte \(offset) is malformed")
        }
        let json: [UInt8]
        if let known = schemaReferences.json(of: id) {
            json = known
        } else {
            switch try connection.scalar("SELECT json FROM cdc_schemas WHERE id = ?", [.integer(id)]) {
            case .text(let b)?, .blob(let b)?:
                json = b
                schemaReferences.remember(b, id: id, saved: true)
            default:
                throw EventLogError.corruptEvent(path: path, lsn: lsn, reason: "its schema reference \(id) names no stored schema")
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(line.count - (end + 1 - offset) + json.count)
        out += line[..<offset]
        out += json
        out += line[(end + 1)...]
        return out
    }
}
