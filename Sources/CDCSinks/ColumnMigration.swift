import CDCCore
import CDCSQLite

/// How the columns of one source schema continue into the next: which are kept, renamed,
/// dropped and added.
///
/// The plan follows how WAL capture reads the rows written before the change
/// (Sources/CDCCapture/WAL/WALTransactionDecoder.swift, `ImageConverter`): by position when
/// the table kept its b-tree and did not lose columns (ALTER TABLE ADD and RENAME COLUMN leave
/// records as they are), else by name (DROP COLUMN and rebuilds). Capture reports exactly the
/// rows whose value differs from that reading, so a read model migrated the same way equals
/// the source once those rows are applied. The sink cannot see the b-tree, so:
///
/// 1. the table lost columns: by name (capture reads by name too); every name that is gone is
///    dropped, every new name added;
/// 2. no kept column moved: by position; a new name where an old name is gone is that column
///    **renamed** (RENAME COLUMN renames in place), new names after the old columns are added;
/// 3. kept columns moved, but every column before the old width is an old name: by name (a
///    rebuild that reordered columns, or DROP and ADD COLUMN, which cannot rename);
/// 4. kept columns moved and a new name stands before the old width: **ambiguous**
///    (``ambiguity``): RENAME COLUMN together with DROP/ADD COLUMN in one transaction, or a
///    rebuild that inserted a column, read old rows differently, and no event says which.
///
/// Known limit (docs/sinks.md, "Schema changes"): a table *rebuilt* in one transaction that
/// puts a differently named column at the position of one it removes, without copying the
/// values, is taken as a rename (case 2); capture reads that rebuild by name and reports only
/// the rows whose new value differs from the default, so the others would keep the old
/// column's value. `ALTER TABLE` itself never produces that shape.
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
    /// Why the step cannot be followed (case 4 above), or `nil`. The other members then
    /// hold the by-name reading.
    let ambiguity: String?

    /// Plans the step from `old` to `new`.
    /// - Complexity: O(columns).
    init(from old: TableSchema, to new: TableSchema) {
        let oldIndexByName = Dictionary(old.columns.enumerated().map { ($1.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.columns.map { $0.name.lowercased() })
        var indices: [Int?] = new.columns.map { oldIndexByName[$0.name.lowercased()] }
        var renamed: [(old: String, new: String)] = []
        var ambiguity: String?
        if new.columns.count >= old.columns.count {
            let moved = new.columns.indices.filter { j in indices[j].map { $0 != j } ?? false }
            if moved.isEmpty {
                for i in old.columns.indices where indices[i] == nil && !newNames.contains(old.columns[i].name.lowercased()) {
                    indices[i] = i
                    renamed.append((old.columns[i].name, new.columns[i].name))
                }
            } else {
                let inserted = old.columns.indices.filter { indices[$0] == nil }
                if !inserted.isEmpty {
                    let names = { (js: [Int]) in js.map { quoteIdentifier(new.columns[$0].name) }.joined(separator: ", ") }
                    ambiguity = "column(s) \(names(moved)) moved while new column(s) \(names(inserted)) took earlier places (RENAME COLUMN with DROP or ADD COLUMN in one transaction, or a rebuild that inserted columns: the two give old rows different values, and the events do not say which it was)"
                }
            }
        }
        let continued = Set(indices.compactMap { $0 })
        oldIndexOfNewColumn = indices
        self.renamed = renamed
        self.ambiguity = ambiguity
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
            && a.renamed.map(\.new) == b.renamed.map(\.new) && a.dropped == b.dropped && a.added == b.added && a.ambiguity == b.ambiguity
    }
}
