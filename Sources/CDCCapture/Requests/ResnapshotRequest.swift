import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// An operator's request for snapshot events of some tables, or of some keys of one table
/// (`cdc-agent resnapshot`), checked against the source before it is recorded in the log.
///
/// Key syntax (one `--keys` value per key), the JSON of the event format (docs/events.md):
/// - a one-column key (or a table keyed by its rowid): one value, `7`, `"abc"`,
///   `{"$blob":"AAE="}`, or the event's key object `{"id":7}`;
/// - a composite key: the event's key object, `{"order_id":7,"line":2}` (member order free),
///   or an array of the values in key order, `[7,2]`.
public struct ResnapshotRequest: Hashable, Sendable {
    /// The source tables, names as declared.
    public var tables: [String]
    /// `nil` for whole tables; else the keys of the one table, values in key order. A key
    /// that exists is stored as the source stores it (storage class included), so both
    /// capture modes find it.
    public var keys: [[SQLiteValue]]?

    /// Checks the request against the source (read-only).
    ///
    /// - Parameters:
    ///   - sourcePath: the service database.
    ///   - tables: `--table` values; matched to the source's tables ignoring ASCII case, as
    ///     SQLite does.
    ///   - keyArguments: `--keys` values; empty for whole tables.
    /// - Throws: ``ResnapshotError`` for a bad table or key, ``SQLiteError`` (missing or not
    ///   a database), ``CaptureError/notASource``.
    public static func make(sourcePath: String, tables: [String], keyArguments: [String]) throws -> ResnapshotRequest {
        guard !tables.isEmpty else { throw ResnapshotError.noTable }
        if !keyArguments.isEmpty, tables.count != 1 { throw ResnapshotError.keysNeedOneTable(count: tables.count) }
        guard FileManager.default.fileExists(atPath: sourcePath) else { throw SQLiteError(code: .cantOpen, message: "no such file", path: sourcePath) }
        let c = try Connection(path: sourcePath, mode: .readOnly)
        defer { try? c.close() }
        try ChangeTableCapture.checkIsServiceDatabase(c)
        let known = try c.userTableNames()
        let captured = try ChangeTableMeta.read(from: c)
        var names: [String] = []
        for asked in tables {
            guard let name = known.first(where: { $0 == asked }) ?? known.first(where: { $0.lowercased() == asked.lowercased() }) else {
                throw ResnapshotError.unknownTable(name: asked, path: sourcePath, known: known)
            }
            if let captured, captured.table(named: name) == nil { throw ResnapshotError.notCaptured(name: name, path: sourcePath) }
            if !names.contains(name) { names.append(name) }
        }
        guard !keyArguments.isEmpty else { return ResnapshotRequest(tables: names, keys: nil) }
        let schema = try c.tableSchema(names[0])
        var keys: [[SQLiteValue]] = []
        for (i, text) in keyArguments.enumerated() {
            let key = try parseKey(text, position: i + 1, schema: schema)
            keys.append(try storedKey(key, schema: schema, in: c) ?? key)
        }
        return ResnapshotRequest(tables: names, keys: keys)
    }

    /// Parses one `--keys` value into the key's values in key order.
    /// - Throws: ``ResnapshotError/malformedKey`` or ``ResnapshotError/wrongKeyShape``.
    static func parseKey(_ text: String, position: Int, schema: TableSchema) throws -> [SQLiteValue] {
        let names = schema.keyNames
        let json: JSONValue
        do { json = try JSONParser.parse(text) } catch {
            throw ResnapshotError.malformedKey(position: position, reason: "\(error)")
        }
        func value(_ j: JSONValue) throws -> SQLiteValue {
            do { return try SQLiteValue(json: j) } catch let e as ValueDecodingError {
                throw ResnapshotError.malformedKey(position: position, reason: e.reason)
            }
        }
        func shape(_ reason: String) -> ResnapshotError {
            ResnapshotError.wrongKeyShape(position: position, table: schema.name, keyNames: names, reason: reason)
        }
        switch json {
        // A key object names key columns; a lone `$`-member is a tagged value ({"$blob":…}).
        case .object(let members) where !(members.count == 1 && members[0].0.hasPrefix("$") && !names.contains(members[0].0)):
            var out: [SQLiteValue] = []
            for name in names {
                guard let member = members.first(where: { $0.0 == name }) ?? members.first(where: { $0.0.lowercased() == name.lowercased() }) else {
                    throw shape("it does not name \(name)")
                }
                out.append(try value(member.1))
            }
            guard members.count == names.count else { throw shape("it names \(members.count) member(s), the key has \(names.count) column(s)") }
            return out
        case .array(let items):
            guard items.count == names.count else { throw shape("it has \(items.count) value(s), the key has \(names.count)") }
            return try items.map(value)
        default:
            guard names.count == 1 else { throw shape("one value given, the key has \(names.count) columns") }
            return [try value(json)]
        }
    }

    /// The key as the source stores it, when a row has it: SQLite compares with the key
    /// columns' affinity, so `7` finds the text key `'7'`, and WAL capture (which compares
    /// stored values exactly) must be given `'7'`.
    static func storedKey(_ key: [SQLiteValue], schema: TableSchema, in c: Connection) throws -> [SQLiteValue]? {
        let columns: [String]
        if schema.hasRowIDKey {
            guard let alias = schema.rowIDKeyName else { return nil }
            columns = [alias]
        } else {
            columns = schema.keyColumnIndices.map { quoteIdentifier(schema.columns[$0].name) }
        }
        let condition = columns.map { "\($0) = ?" }.joined(separator: " AND ")
        return try c.query("SELECT \(columns.joined(separator: ", ")) FROM \(quoteIdentifier(schema.name)) WHERE \(condition) LIMIT 1", key).first
    }

    /// Records the request in the log for the running agent (or the next one to start).
    ///
    /// - Parameters:
    ///   - logPath: the event log `cdc-agent run` writes for this source (must exist).
    ///   - sourcePath: the source, to check that the log is its log.
    ///   - requester: who asks, for people reading the log.
    /// - Returns: the request id.
    /// - Throws: ``SQLiteError`` (missing or read-only log), ``EventLogError/notAnEventLog``,
    ///   ``ResnapshotError/logOfAnotherSource``.
    public func record(logPath: String, sourcePath: String, requester: String = "cdc-agent resnapshot") throws -> Int64 {
        guard FileManager.default.fileExists(atPath: logPath) else { throw ResnapshotError.noLog(path: logPath) }
        let log = try EventLog(path: logPath)
        defer { try? log.close() }
        let expected = EventLog.canonicalSourcePath(sourcePath)
        if let found = try log.sourceDatabasePath(), found != expected {
            throw ResnapshotError.logOfAnotherSource(logPath: logPath, expected: expected, found: found)
        }
        return try log.requestSnapshot(requester: requester, tables: tables, keys: keys)
    }

    /// Waits until the agent served request `id`.
    /// - Parameters:
    ///   - timeoutMilliseconds: how long to wait.
    ///   - pollIntervalMilliseconds: how often to look.
    /// - Returns: the LSN that served it: a whole-table request's `snapshot_start`, a keyed
    ///   request's read position (its rows follow with higher LSNs).
    /// - Throws: ``ResnapshotError/notServed`` after the timeout, ``SQLiteError``.
    public static func waitUntilServed(id: Int64, logPath: String, timeoutMilliseconds: Int64, pollIntervalMilliseconds: Int64 = 50) throws -> LSN {
        let log = try EventLog(path: logPath, readOnly: true)
        defer { try? log.close() }
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        while true {
            if let lsn = try log.servedEpoch(ofRequest: id) { return lsn }
            if Date() >= deadline { throw ResnapshotError.notServed(requestID: id, waitedMilliseconds: timeoutMilliseconds) }
            usleep(UInt32(max(1, pollIntervalMilliseconds)) * 1000)
        }
    }
}
