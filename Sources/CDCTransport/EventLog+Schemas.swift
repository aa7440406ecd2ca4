import CDCCore
import CDCSQLite

extension EventLog {
    /// The newest schema of every table that has a row change or a schema event in the log
    /// (a table whose newest event is its drop is left out), by table name.
    ///
    /// Sinks use it at start-up to check a projection against the tables before applying
    /// anything.
    /// - Throws: ``EventLogError/corruptEvent`` for an undecodable event, ``SQLiteError``.
    /// - Complexity: one pass over the log's rows (not their JSON), plus one decode per table.
    public func latestSchemas() throws -> [String: TableSchema] {
        var schemas: [String: TableSchema] = [:]
        let at = format >= 2 ? "schema_at" : "NULL"
        let rows = try connection.query("SELECT lsn, event, \(at) FROM cdc_events WHERE lsn IN (SELECT max(lsn) FROM cdc_events WHERE tbl IS NOT NULL GROUP BY tbl)")
        for row in rows {
            guard case .integer(let lsn) = row[0] else { continue }
            let bytes: [UInt8]
            switch row[1] {
            case .text(let b), .blob(let b): bytes = try expandSchemaReference(in: b, at: row[2], lsn: LSN(lsn))
            default: throw EventLogError.corruptEvent(path: path, lsn: LSN(lsn), reason: "the event is not text")
            }
            do {
                switch try Event(jsonLine: bytes).body {
                case .change(let change): schemas[change.table.name] = change.table
                case .schema(let s) where s.kind != .drop: schemas[s.table] = s.schema
                default: break
                }
            } catch let e as EventDecodingError {
                throw EventLogError.corruptEvent(path: path, lsn: LSN(lsn), reason: e.description)
            }
        }
        return schemas
    }
}
