import CDCCore
import CDCSQLite
import Foundation

/// Reads the replica's applied position from the sink's metadata table
/// `_cdc_sink_offset(source TEXT PRIMARY KEY, lsn INTEGER NOT NULL, …)`, which the sink
/// writes in the same transaction as the rows it applies.
enum SinkOffset {
    static let tableName = "_cdc_sink_offset"

    /// The applied LSN of this source.
    ///
    /// The row is chosen by `source` column: equal to `sourceName` when given; else equal to
    /// the service name (the source file name without extension) or the source path, or
    /// starting with the service name and a space (`orders (/srv/orders.db)`); else the only
    /// row when there is one.
    /// - Returns: ``LSN/zero`` when the table is empty (nothing applied yet), `nil` when
    ///   only other sources' rows are there.
    /// - Throws: ``SQLiteError``.
    static func appliedLSN(in replica: Connection, sourceName: String?, sourcePath: String) throws -> LSN? {
        let rows = try replica.query("SELECT source, lsn FROM \(tableName) ORDER BY source")
        guard !rows.isEmpty else { return .zero }
        func lsn(_ row: [SQLiteValue]) -> LSN? {
            if case .integer(let v) = row[1] { return LSN(v) }
            return nil
        }
        let names = rows.map { $0[0].stringValue ?? "" }
        let candidates: [String]
        if let sourceName {
            candidates = [sourceName]
        } else {
            let service = ((sourcePath as NSString).lastPathComponent as NSString).deletingPathExtension
            candidates = [service, sourcePath]
        }
        for candidate in candidates {
            if let i = names.firstIndex(of: candidate) { return lsn(rows[i]) }
        }
        for candidate in candidates {
            if let i = names.firstIndex(where: { $0.hasPrefix(candidate + " ") }) { return lsn(rows[i]) }
        }
        if sourceName == nil, rows.count == 1 { return lsn(rows[0]) }
        return nil
    }
}
