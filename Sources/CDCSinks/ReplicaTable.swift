import CDCCore
import CDCSQLite

/// One read-model table as the sink writes it for one source schema: the projection of the
/// source table, and the prepared statements that upsert and delete its rows.
///
/// Rows are written with `INSERT OR REPLACE` naming every kept column (and, for a table
/// keyed by its rowid, the rowid itself), and deleted by key with `IS`, so a NULL in a key
/// column of a rowid table still matches. Values are bound with their exact storage class;
/// the read-model column has the source column's declared type, hence the same affinity,
/// which the source already applied to the value (promise 4).
/// Source: https://www.sqlite.org/lang_insert.html, https://www.sqlite.org/datatype3.html
final class ReplicaTable {
    /// The source schema and rule this table state was built for.
    let projected: ProjectedTable
    /// The schema of the events this state takes: ``projected``'s source schema, or an older
    /// version of it whose images ``translate(_:)`` maps onto it.
    let eventSchema: TableSchema
    /// For each column of ``projected``'s source schema, its index in an event image; `nil`
    /// when images already have that shape.
    private let imageIndices: [Int]?
    /// The name under which the read model addresses the key: the key columns, or the
    /// rowid alias for a table keyed by its rowid.
    let keyColumnNames: [String]
    /// Whether rows are keyed by their rowid (no declared primary key).
    let hasRowIDKey: Bool
    private let upsertStatement: Statement
    private let deleteStatement: Statement
    private let sourceKeyIndices: [Int]

    /// Prepares the statements for a read-model table that already exists with (at least)
    /// the projected columns.
    /// - Parameters:
    ///   - eventSchema: the schema of the events to take, when older than the projected one
    ///     (`nil`: the same); `imageIndices` then maps its images onto the projected source schema.
    /// - Throws: ``SinkError/noAddressableKey``, ``SQLiteError``.
    init(projected: ProjectedTable, connection: Connection, eventSchema: TableSchema? = nil, imageIndices: [Int]? = nil) throws {
        self.projected = projected
        self.eventSchema = eventSchema ?? projected.sourceSchema
        self.imageIndices = imageIndices
        let target = projected.targetSchema
        hasRowIDKey = target.hasRowIDKey
        if hasRowIDKey {
            guard let alias = target.rowIDKeyName else { throw SinkError.noAddressableKey(table: target.name) }
            keyColumnNames = [alias]
        } else {
            keyColumnNames = target.keyNames
        }
        sourceKeyIndices = projected.sourceSchema.keyColumnIndices
        var columns = target.columnNames.map(quoteIdentifier)
        if hasRowIDKey { columns.insert(quoteIdentifier(keyColumnNames[0]), at: 0) }
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        upsertStatement = try connection.prepare("INSERT OR REPLACE INTO \(quoteIdentifier(target.name))(\(columns.joined(separator: ", "))) VALUES (\(placeholders))")
        let condition = keyColumnNames.map { "\(quoteIdentifier($0)) IS ?" }.joined(separator: " AND ")
        deleteStatement = try connection.prepare("DELETE FROM \(quoteIdentifier(target.name)) WHERE \(condition)")
    }

    /// An event image in the shape of ``projected``'s source schema.
    func translate(_ image: [SQLiteValue]) -> [SQLiteValue] {
        guard let imageIndices else { return image }
        return imageIndices.map { $0 < image.count ? image[$0] : .null }
    }

    /// The source table name (the name row versions are kept under).
    var sourceName: String { projected.sourceSchema.name }

    /// The read-model table name.
    var targetName: String { projected.targetSchema.name }

    /// The key of a source image: its key columns' values, or `nil` for a table keyed by its
    /// rowid (images do not carry the rowid; the event's key does).
    func key(ofSourceImage image: [SQLiteValue]) -> [SQLiteValue]? {
        guard !sourceKeyIndices.isEmpty else { return nil }
        return sourceKeyIndices.map { $0 < image.count ? image[$0] : .null }
    }

    /// Writes the projection of a source image, replacing any row with the same key.
    /// - Parameter key: the event's key, used as the rowid for a table keyed by its rowid.
    func upsert(key: [SQLiteValue], sourceImage image: [SQLiteValue]) throws {
        var values = projected.project(image)
        if hasRowIDKey { values.insert(key.first ?? .null, at: 0) }
        try upsertStatement.run(values)
    }

    /// Deletes the row with this key, if present.
    func delete(key: [SQLiteValue]) throws {
        try deleteStatement.run(key)
    }
}
