import CDCCore
import CDCSQLite

/// How the columns of one source schema continue into the next: which are kept, renamed,
/// dropped and added.
///
/// Columns are matched by name (case-insensitively, as SQLite does). A column whose name is
/// gone counts as **renamed** only when a new name stands at its position, the table did not
/// lose columns, and neither name is on the other side: that is what `ALTER TABLE … RENAME
/// COLUMN` leaves (it renames in place), and it is exactly how WAL capture reads the rows
/// written before the change (by position when the records still fit the new schema, else by
/// name; Sources/CDCCapture/WAL/WALTransactionDecoder.swift, `ImageConverter`). So a row
/// that capture reports no change for has, after this plan, the value it has in the source;
/// every other row comes as an update carrying its full after image.
///
/// When the table lost columns, capture maps old rows by name, so every name that is gone is
/// a drop and every new name an add (a rename in the same transaction then arrives as
/// updates of the rows whose value differs from the new column's default).
///
/// Known limit (docs/sinks.md, "Schema changes"): a table *rebuilt* in one transaction that
/// puts a differently named column at the position of one it removes, without copying the
/// values, is taken as a rename; capture reads that rebuild by name and reports only the rows
/// whose new value differs from the default, so the others would keep the old column's
/// value. `ALTER TABLE` itself never produces that shape.
struct ColumnMigration: Equatable {
    /// For each column of the new schema, the index of the old column it continues (same
    /// name, or renamed in place), or `nil` for a new column.
    let oldIndexOfNewColumn: [Int?]
    /// Old and new names of the columns renamed in place, in column order.
    let renamed: [(old: String, new: String)]
    /// Old columns that are gone, in old column order.
    let dropped: [String]
    /// New columns, in new column order.
    let added: [String]

    /// Plans the step from `old` to `new`.
    /// - Complexity: O(columns).
    init(from old: TableSchema, to new: TableSchema) {
        let oldIndexByName = Dictionary(old.columns.enumerated().map { ($1.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.columns.map { $0.name.lowercased() })
        var indices: [Int?] = new.columns.map { oldIndexByName[$0.name.lowercased()] }
        var renamed: [(old: String, new: String)] = []
        if new.columns.count >= old.columns.count {
            for i in old.columns.indices where indices[i] == nil && !newNames.contains(old.columns[i].name.lowercased()) {
                indices[i] = i
                renamed.append((old.columns[i].name, new.columns[i].name))
            }
        }
        let continued = Set(indices.compactMap { $0 })
        oldIndexOfNewColumn = indices
        self.renamed = renamed
        dropped = old.columns.indices.filter { !continued.contains($0) }.map { old.columns[$0].name }
        added = new.columns.indices.filter { indices[$0] == nil }.map { new.columns[$0].name }
    }

    /// Whether nothing but names at the same positions may differ (no column renamed, dropped
    /// or added).
    var isEmpty: Bool { renamed.isEmpty && dropped.isEmpty && added.isEmpty }

    /// The new name of an old column, if it was renamed.
    func newName(ofRenamed old: String) -> String? {
        renamed.first { $0.old.lowercased() == old.lowercased() }?.new
    }

    /// Whether an old column is gone without a successor.
    func isDropped(_ old: String) -> Bool {
        dropped.contains { $0.lowercased() == old.lowercased() }
    }

    /// One phrase for logs and errors: `renamed "a" to "b", dropped "c", added "d"`.
    var summary: String {
        var parts = renamed.map { "renamed column \(quoteIdentifier($0.old)) to \(quoteIdentifier($0.new))" }
        parts += dropped.map { "dropped column \(quoteIdentifier($0))" }
        parts += added.map { "added column \(quoteIdentifier($0))" }
        return parts.isEmpty ? "no column change" : parts.joined(separator: ", ")
    }

    static func == (a: ColumnMigration, b: ColumnMigration) -> Bool {
        a.oldIndexOfNewColumn == b.oldIndexOfNewColumn && a.renamed.map(\.old) == b.renamed.map(\.old)
            && a.renamed.map(\.new) == b.renamed.map(\.new) && a.dropped == b.dropped && a.added == b.added
    }
}
