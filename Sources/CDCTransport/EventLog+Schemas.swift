import CDCCore
import CDCSQLite

extension EventLog {
    /// The newest schema of every table that has a row change in the log, by table name.
    ///
    /// Sinks use it at start-up to check a projection against the tables before applying
    /// anything.
    /// - Throws: ``EventLogError/corruptEvent`` for an undecodable event, ``SQLiteError``.
    /// - Complexity: one pass over the log's rows (not their JSON), plus one decode per table.
    public func latestSchemas() throws -> [String: TableSchema] {
        var schemas: [String: TableSchema] = [:]
        let rows = try connection.query("SELECT lsn, event FROM cdc_events WHERE lsn IN (SELECT max(lsn) FROM cdc_events WHERE tbl IS NOT NULL GROUP BY tbl)")
        for row in rows {
            guard case .integer(let lsn) = row[0] else { continue }
            let bytes: [UInt8]
            switch row[1] {
            case .text(let b), .blob(let b): bytes = b
            default: throw EventLogError.corruptEvent(path: path, lsn: LSN(lsn), reason: "the event is not text")
            }
            do {
                if let change = try Event(jsonLine: bytes).change { schemas[change.table.name] = change.table }
            } catch let e as EventDecodingError {
                throw EventLogError.corruptEvent(path: path, lsn: LSN(lsn), reason: e.description)
            }
        }
        return schemas
    }
}
