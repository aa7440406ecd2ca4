import CDCCore
import CDCSQLite

extension EventLog {
    /// Adds the `keys` column to the requests table of a log made before keyed requests
    /// existed. The agent calls it when it claims the log, and ``requestSnapshot(requester:tables:keys:)``
    /// before it stores keys; readers of older logs read such requests as whole-table ones.
    /// - Throws: ``SQLiteError`` (for example `SQLITE_READONLY` on a read-only log).
    func addRequestKeysColumnIfMissing() throws {
        guard try !requestsHaveKeysColumn() else { return }
        try connection.execute("ALTER TABLE cdc_snapshot_requests ADD COLUMN keys TEXT")
    }

    private func requestsHaveKeysColumn() throws -> Bool {
        try connection.query("SELECT name FROM pragma_table_info('cdc_snapshot_requests')").contains { $0.first?.stringValue == "keys" }
    }

    /// Records a request for snapshot events, served by the running agent (or by the next
    /// one to start).
    ///
    /// - Parameters:
    ///   - requester: who asks, for people reading the log.
    ///   - tables: source table names; empty for every captured table.
    ///   - keys: `nil` for whole tables; otherwise keys of the single table in `tables`, each
    ///     one's values in the table's key order. The caller validates them against the
    ///     source (the log does not know its schemas' keys for certain).
    /// - Returns: the request id.
    /// - Throws: ``SQLiteError`` (a read-only log: `SQLITE_READONLY`).
    public func requestSnapshot(requester: String, tables: [String], keys: [[SQLiteValue]]? = nil) throws -> Int64 {
        var keysText: SQLiteValue = .null
        if let keys {
            try addRequestKeysColumnIfMissing()
            keysText = .string(Self.encodeKeys(keys))
        }
        let hasKeys = try requestsHaveKeysColumn()
        try connection.execute(hasKeys
            ? "INSERT INTO cdc_snapshot_requests(requested_ms, requester, tables, keys) VALUES (?, ?, ?, ?)"
            : "INSERT INTO cdc_snapshot_requests(requested_ms, requester, tables) VALUES (?, ?, ?)",
            [.integer(Self.nowMilliseconds()), .string(requester), .string(tables.joined(separator: "\n"))] + (hasKeys ? [keysText] : []))
        return connection.lastInsertRowID
    }

    /// Requests not yet served, oldest first. A request whose stored keys do not parse (a
    /// hand-edited log) comes back as a whole-table request of its tables: more rows than
    /// asked, never fewer.
    /// - Throws: ``SQLiteError``.
    public func pendingSnapshotRequests() throws -> [SnapshotRequest] {
        let keysColumn = try requestsHaveKeysColumn() ? "keys" : "NULL"
        return try connection.query("SELECT id, requester, tables, \(keysColumn) FROM cdc_snapshot_requests WHERE served_epoch IS NULL ORDER BY id").compactMap { row in
            guard case .integer(let id) = row[0] else { return nil }
            let tables = (row[2].stringValue ?? "").split(separator: "\n").map(String.init)
            let keys = row[3].stringValue.flatMap { try? Self.decodeKeys($0) }
            return SnapshotRequest(id: id, requester: row[1].stringValue ?? "", tables: tables, keys: keys)
        }
    }

    /// Marks requests as served by the snapshot events starting at `epoch` (a whole-table
    /// request: its `snapshot_start`; a keyed one: the LSN its rows were read at, see
    /// docs/operations.md).
    /// - Throws: ``EventLogError/diskFull(path:reason:)`` or ``EventLogError/readOnly(path:reason:)``
    ///   when the log cannot be written, else ``SQLiteError``.
    public func markSnapshotRequestsServed(_ ids: [Int64], epoch: LSN) throws {
        try writing { try connection.transaction {
            for id in ids {
                try connection.execute("UPDATE cdc_snapshot_requests SET served_epoch = ? WHERE id = ?", [.integer(epoch.rawValue), .integer(id)])
            }
        } }
    }

    /// The LSN that served request `id`, once served.
    /// - Throws: ``SQLiteError``.
    public func servedEpoch(ofRequest id: Int64) throws -> LSN? {
        if case .integer(let e)? = try connection.scalar("SELECT served_epoch FROM cdc_snapshot_requests WHERE id = ?", [.integer(id)]) { return LSN(e) }
        return nil
    }

    /// Keys as stored: one JSON array of values (event value format) per line, so every
    /// storage class survives (docs/events.md, "Values").
    static func encodeKeys(_ keys: [[SQLiteValue]]) -> String {
        keys.map { key in
            var w = JSONWriter()
            w.beginArray()
            for v in key { v.write(to: &w) }
            w.endArray()
            return String(decoding: w.bytes, as: UTF8.self)
        }.joined(separator: "\n")
    }

    /// The inverse of ``encodeKeys(_:)``.
    /// - Throws: ``JSONSyntaxError`` or ``ValueDecodingError`` for a line that is not one.
    static func decodeKeys(_ text: String) throws -> [[SQLiteValue]] {
        try text.split(separator: "\n").map { line in
            guard case .array(let values) = try JSONParser.parse(String(line)) else { throw ValueDecodingError("a stored key is not a JSON array") }
            return try values.map { try SQLiteValue(json: $0) }
        }
    }
}
