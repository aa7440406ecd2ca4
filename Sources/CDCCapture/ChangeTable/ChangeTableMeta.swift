import CDCCore
import CDCSQLite

/// One captured table as `_cdc_meta` records it.
struct CapturedTableRecord: Hashable, Sendable {
    /// The numeric id used in trigger names and in `_cdc_changes.tbl`.
    var id: Int64
    /// The table name, exactly.
    var name: String
    /// The current trigger generation.
    var generation: Int64
    /// The table's schema version (grows by one on every column change the agent sees).
    var schemaVersion: Int64
    /// The shape text (``ChangeTableLayout/shapeText(of:)``) the current generation records.
    var shape: String
    /// How many columns each generation's triggers record (kept for generations whose rows
    /// may still wait in `_cdc_changes`).
    var columnCountByGeneration: [Int64: Int]
}

/// The contents of `_cdc_meta`: a small key/value table read and written as a whole.
///
/// Keys: `format`, `install_id`, `width`, `next_table_id`, and per table id `t`:
/// `table.t.name`, `table.t.gen`, `table.t.version`, `table.t.shape`, `table.t.gen.g.columns`;
/// plus `last_lsn`, `consumed_seq` and `announce` (schema changes not yet in the log), written
/// by the capture loop (not part of this value).
struct ChangeTableMeta: Hashable, Sendable {
    var installID: String
    var width: Int
    var nextTableID: Int64
    var tables: [Int64: CapturedTableRecord]

    /// The captured tables in id order.
    var orderedTables: [CapturedTableRecord] { tables.values.sorted { $0.id < $1.id } }

    /// The record of the table with this exact name.
    func table(named name: String) -> CapturedTableRecord? { tables.values.first { $0.name == name } }

    /// Reads the meta table, or `nil` when capture is not installed.
    /// - Throws: ``CaptureError/malformedMeta`` when the table exists but is not ours.
    static func read(from connection: Connection) throws -> ChangeTableMeta? {
        guard try connection.tableExists(ChangeTableLayout.metaTable) else { return nil }
        var values: [String: SQLiteValue] = [:]
        for row in try connection.query("SELECT key, value FROM \(ChangeTableLayout.metaTable)") {
            if let k = row[0].stringValue { values[k] = row[1] }
        }
        let path = connection.path
        func integer(_ key: String) throws -> Int64 {
            guard case .integer(let v)? = values[key] else { throw CaptureError.malformedMeta(path: path, key: key) }
            return v
        }
        func text(_ key: String) throws -> String {
            guard let v = values[key]?.stringValue else { throw CaptureError.malformedMeta(path: path, key: key) }
            return v
        }
        let format = try integer("format")
        guard format == ChangeTableLayout.formatVersion else {
            throw CaptureError.unsupportedFormat(path: path, found: format, supported: ChangeTableLayout.formatVersion)
        }
        var meta = ChangeTableMeta(installID: try text("install_id"), width: Int(try integer("width")),
                                   nextTableID: try integer("next_table_id"), tables: [:])
        for key in values.keys {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "table", parts[2] == "name", let id = Int64(parts[1]) else { continue }
            let prefix = "table.\(id)."
            var counts: [Int64: Int] = [:]
            for other in values.keys where other.hasPrefix(prefix + "gen.") && other.hasSuffix(".columns") {
                let p = other.split(separator: ".", omittingEmptySubsequences: false)
                if p.count == 5, let g = Int64(p[3]) { counts[g] = Int(try integer(other)) }
            }
            meta.tables[id] = CapturedTableRecord(
                id: id, name: try text(prefix + "name"), generation: try integer(prefix + "gen"),
                schemaVersion: try integer(prefix + "version"), shape: try text(prefix + "shape"),
                columnCountByGeneration: counts)
        }
        return meta
    }

    /// Replaces the meta table's rows with this value (inside the caller's write transaction),
    /// keeping `last_lsn`, which the capture loop maintains on its own.
    func write(to connection: Connection) throws {
        try connection.execute("DELETE FROM \(ChangeTableLayout.metaTable) WHERE key NOT IN ('last_lsn', 'consumed_seq', 'announce')")
        let insert = try connection.prepare("INSERT INTO \(ChangeTableLayout.metaTable)(key, value) VALUES (?, ?)")
        try insert.run([.string("format"), .integer(ChangeTableLayout.formatVersion)])
        try insert.run([.string("install_id"), .string(installID)])
        try insert.run([.string("width"), .integer(Int64(width))])
        try insert.run([.string("next_table_id"), .integer(nextTableID)])
        for t in orderedTables {
            let prefix = "table.\(t.id)."
            try insert.run([.string(prefix + "name"), .string(t.name)])
            try insert.run([.string(prefix + "gen"), .integer(t.generation)])
            try insert.run([.string(prefix + "version"), .integer(t.schemaVersion)])
            try insert.run([.string(prefix + "shape"), .string(t.shape)])
            for (g, n) in t.columnCountByGeneration.sorted(by: { $0.key < $1.key }) {
                try insert.run([.string(prefix + "gen.\(g).columns"), .integer(Int64(n))])
            }
        }
    }

    /// Creates the meta and change tables (inside the caller's write transaction).
    static func create(in connection: Connection, installID: String) throws -> ChangeTableMeta {
        try connection.execute("CREATE TABLE \(ChangeTableLayout.metaTable)(key TEXT PRIMARY KEY, value) WITHOUT ROWID")
        try connection.execute(ChangeTableLayout.createChangeTableSQL(width: 0))
        return ChangeTableMeta(installID: installID, width: 0, nextTableID: 1, tables: [:])
    }
}
