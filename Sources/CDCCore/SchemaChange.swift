/// A change to a table's definition, as a `schema` event carries it (docs/events.md).
///
/// Emitted before the first row event that uses the new definition, in the same source
/// transaction's place in the stream. Every change event still carries its table's schema,
/// so a consumer may ignore schema events; they tell it that a table appeared, changed
/// shape, was renamed or was dropped, including when no row changed with it.
public struct SchemaChange: Hashable, Sendable {
    /// What happened to the table.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// The table appeared.
        case create
        /// Its columns, declared types, key or WITHOUT ROWID changed (ALTER TABLE, or a
        /// rebuild under the same name).
        case alter
        /// It was renamed (`previousName` holds the old name); its rows did not change.
        case rename
        /// It was dropped; the schema is its last one.
        case drop
    }

    /// The table's name after the change (its last name, for a drop).
    public var table: String
    public var kind: Kind
    /// The name before the change: the old name of a renamed table, else ``table``.
    public var previousName: String
    /// The table's definition after the change (before it, for a drop), with its schema
    /// version (grown by one for `alter` and `rename`).
    public var schema: TableSchema

    public init(table: String, kind: Kind, previousName: String? = nil, schema: TableSchema) {
        self.table = table
        self.kind = kind
        self.previousName = previousName ?? table
        self.schema = schema
    }
}
