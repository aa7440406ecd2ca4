import CDCCore
import CDCSQLite
import CDCSinks

/// How to read one read-model table so that its rows line up with the projected source rows:
/// which columns exist, which are compared, how the key is selected, and what differs in the
/// table's shape.
///
/// A read-model table keyed by a source rowid holds the same rowid (the sink inserts it
/// explicitly, Sources/CDCSinks/ReplicaTable.swift); it is selected through the target
/// schema's rowid alias, or through a replica column of that name if one was declared.
struct ReplicaReadPlan {
    /// Whether the read-model table does not exist.
    private(set) var isTableMissing = false
    /// One sentence per shape difference (names only).
    private(set) var schemaDifferences: [String] = []
    /// Indices into the projected (target) image of the columns compared, in order: every
    /// target column the read-model table has.
    private(set) var comparedTargetIndices: [Int]
    /// The SELECT, or `nil` when the table cannot be read by key (missing table or key
    /// column): every source row then counts as missing.
    private var sql: String?
    private var keyIndices: [Int] = []
    private var valueIndices: [Int] = []
    private let tableName: String

    /// Inspects the read-model table.
    /// - Throws: ``SQLiteError`` reading the replica's schema.
    init(projected: ProjectedTable, replica: Connection) throws {
        let target = projected.targetSchema
        tableName = target.name
        comparedTargetIndices = Array(target.columns.indices)
        guard try replica.tableExists(target.name) else {
            isTableMissing = true
            return
        }
        let actual = try replica.tableSchema(target.name)
        var actualByName: [String: ColumnSchema] = [:]
        for column in actual.columns where actualByName[column.name.lowercased()] == nil {
            actualByName[column.name.lowercased()] = column
        }

        // The key expression of a rowid-keyed table, and the replica column it may occupy.
        var rowIDKey: String?
        var rowIDColumn: String?
        if target.hasRowIDKey {
            // The alias the sink writes the rowid through: the target schema's, since a
            // renamed column may take a name the source's alias had.
            guard let alias = target.rowIDKeyName else {
                schemaDifferences.append("every rowid alias (rowid, _rowid_, oid) is a column name of the read model, so its rowid cannot be read")
                return
            }
            if let column = actualByName[alias.lowercased()] {
                rowIDColumn = column.name.lowercased()
                rowIDKey = quoteIdentifier(column.name)
            } else if actual.isWithoutRowID {
                schemaDifferences.append("read model is WITHOUT ROWID but the source table is keyed by its rowid")
            } else {
                rowIDKey = quoteIdentifier(alias)
            }
        }

        comparedTargetIndices = target.columns.indices.filter { actualByName[target.columns[$0].name.lowercased()] != nil }
        for column in target.columns where actualByName[column.name.lowercased()] == nil {
            schemaDifferences.append("read model lacks column \(quoteIdentifier(column.name))")
        }
        let targetNames = Set(target.columns.map { $0.name.lowercased() })
        for column in actual.columns where !targetNames.contains(column.name.lowercased()) && column.name.lowercased() != rowIDColumn {
            schemaDifferences.append("read model has column \(quoteIdentifier(column.name)), which the projection does not keep")
        }

        let compared = comparedTargetIndices.map { quoteIdentifier(target.columns[$0].name) }
        let from = "FROM \(quoteIdentifier(target.name))"
        if target.hasRowIDKey {
            guard let rowIDKey else { return } // reported above: unreadable by key
            sql = "SELECT \(([rowIDKey] + compared).joined(separator: ", ")) \(from) ORDER BY \(rowIDKey)"
            keyIndices = [0]
            valueIndices = compared.indices.map { $0 + 1 }
        } else {
            var keyPositions: [Int] = []
            for k in target.keyColumnIndices {
                guard let position = comparedTargetIndices.firstIndex(of: k) else { return } // key column missing
                keyPositions.append(position)
            }
            let order = keyPositions.map { "\(compared[$0]) COLLATE BINARY" }
            sql = "SELECT \(compared.joined(separator: ", ")) \(from) ORDER BY \(order.joined(separator: ", "))"
            keyIndices = keyPositions
            valueIndices = Array(compared.indices)
        }
    }

    /// The ordered stream of the read-model rows (empty when the table cannot be read by key).
    /// - Throws: ``SQLiteError`` preparing the SELECT.
    func makeStream(replica: Connection) throws -> OrderedRowStream {
        OrderedRowStream(statement: try sql.map { try replica.prepare($0) }, keyIndices: keyIndices, valueIndices: valueIndices,
                         table: tableName, database: replica.path)
    }
}
