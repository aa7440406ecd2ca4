import CDCCore
import CDCSQLite

/// The list of tables the agent captures, as the source's `_cdc_meta` records it.
///
/// Change-table capture (Sources/CDCCapture/ChangeTableMeta.swift) keeps its state in
/// `_cdc_meta(key TEXT PRIMARY KEY, value)`: a `format` row, and per captured table with
/// numeric id `t` a row `table.t.name` whose value is the table name. This reads only those
/// rows (read-only, no dependency on the capture layer). Without the table or its `format`
/// row (WAL capture, or capture not installed) there is no list, and the checker falls back
/// to every user table.
enum CapturedTables {
    /// Reads the captured-table list.
    /// - Returns: the table names in table-id order (possibly empty when capture is installed
    ///   for no table), or `nil` when the source records no list.
    /// - Throws: ``SQLiteError``.
    static func names(in source: Connection) throws -> [String]? {
        guard try source.tableExists("_cdc_meta"),
              try source.scalar("SELECT 1 FROM _cdc_meta WHERE key = 'format'") != nil else { return nil }
        var byID: [(id: Int64, name: String)] = []
        for row in try source.query("SELECT key, value FROM _cdc_meta WHERE key LIKE 'table.%.name'") {
            guard let key = row[0].stringValue, let name = row[1].stringValue, let id = tableID(key) else { continue }
            byID.append((id, name))
        }
        return byID.sorted { $0.id < $1.id }.map(\.name)
    }

    /// The id `t` of a key `table.t.name`, or `nil` for any other key.
    static func tableID(_ key: String) -> Int64? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "table", parts[2] == "name" else { return nil }
        return Int64(parts[1])
    }
}
