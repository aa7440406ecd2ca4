import CDCCore
import CDCSQLite
import Foundation

/// The list of tables the agent captures, as the source's `_cdc_meta` records it.
///
/// Change-table capture keeps its state in `_cdc_meta(key TEXT PRIMARY KEY, value)`. The
/// captured-table list is read from the row whose key is `captured_tables` (or `tables`); its
/// value is a JSON array of table names (`["orders","order lines"]`) or, failing that, a
/// comma-separated list. Without such a row (WAL capture, or an older agent) there is no
/// list, and the checker falls back to every user table.
enum CapturedTables {
    /// The keys looked up in `_cdc_meta`, in order of preference.
    static let metaKeys = ["captured_tables", "tables"]

    /// Reads the captured-table list.
    /// - Returns: the table names in the recorded order, or `nil` when the source records none.
    /// - Throws: ``SQLiteError``.
    static func names(in source: Connection) throws -> [String]? {
        guard try source.tableExists("_cdc_meta") else { return nil }
        for key in metaKeys {
            guard let value = try source.scalar("SELECT value FROM _cdc_meta WHERE key = ?", [.string(key)]),
                  let text = value.stringValue else { continue }
            return parse(text)
        }
        return nil
    }

    /// A JSON array of strings, else a comma-separated list (blank entries dropped).
    static func parse(_ text: String) -> [String] {
        if case .array(let items)? = try? JSONParser.parse(Array(text.utf8)) {
            return items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
