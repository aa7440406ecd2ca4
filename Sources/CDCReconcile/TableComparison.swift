import CDCCore
import CDCSQLite
import CDCSinks

/// Compares one source table with its read-model table by key: both sides are streamed in
/// key order and merge-joined, so memory holds one row per side plus the sample keys
/// (DESIGN.md promise 7).
///
/// The caller opens the read transactions; this type only runs SELECTs.
struct TableComparison {
    let projected: ProjectedTable
    let source: Connection
    let replica: Connection
    let maximumSampleKeys: Int

    /// Runs the comparison.
    /// - Returns: the table's counts and sample keys.
    /// - Throws: ``ReplicaCheckError/noAddressableKey(table:)``,
    ///   ``ReplicaCheckError/keysOutOfOrder(table:database:)``, ``SQLiteError``.
    /// - Complexity: O(n + m) rows read, O(1) rows held.
    func run() throws -> TableReport {
        let schema = projected.sourceSchema
        let sourceRows = try makeSourceStream()
        var report = TableReport(sourceTable: schema.name, replicaTable: projected.targetSchema.name, keyNames: schema.keyNames)
        let plan = try ReplicaReadPlan(projected: projected, replica: replica)
        report.isReplicaTableMissing = plan.isTableMissing
        report.schemaDifferences = plan.schemaDifferences
        let replicaRows = try plan.makeStream(replica: replica)

        func nextKeptSourceRow() throws -> OrderedRowStream.Row? {
            while let row = try sourceRows.next() {
                guard projected.keeps(row.values) else { continue }
                report.sourceRowCount += 1
                let target = projected.project(row.values)
                return OrderedRowStream.Row(key: row.key, values: plan.comparedTargetIndices.map { target[$0] })
            }
            return nil
        }
        func nextReplicaRow() throws -> OrderedRowStream.Row? {
            guard let row = try replicaRows.next() else { return nil }
            report.replicaRowCount += 1
            return row
        }

        var s = try nextKeptSourceRow()
        var r = try nextReplicaRow()
        while true {
            switch (s, r) {
            case (nil, nil):
                return report
            case (let sRow?, nil):
                report.missing.record(sRow.key, limit: maximumSampleKeys)
                s = try nextKeptSourceRow()
            case (nil, let rRow?):
                report.extra.record(rRow.key, limit: maximumSampleKeys)
                r = try nextReplicaRow()
            case (let sRow?, let rRow?):
                let order = SQLiteOrdering.compare(keys: sRow.key, rRow.key)
                if order < 0 {
                    report.missing.record(sRow.key, limit: maximumSampleKeys)
                    s = try nextKeptSourceRow()
                } else if order > 0 {
                    report.extra.record(rRow.key, limit: maximumSampleKeys)
                    r = try nextReplicaRow()
                } else {
                    // Exact equality: storage class and bits (SQLiteValue ==), key columns
                    // included, so a key 1 matched with 1.0 is a differing row.
                    if sRow.values != rRow.values {
                        report.differing.record(sRow.key, limit: maximumSampleKeys)
                    }
                    s = try nextKeptSourceRow()
                    r = try nextReplicaRow()
                }
            }
        }
    }

    /// `SELECT [rowid,] every column FROM source ORDER BY key COLLATE BINARY`; the row's
    /// values are the full source image (the projection and filter need every column).
    private func makeSourceStream() throws -> OrderedRowStream {
        let schema = projected.sourceSchema
        let columns = schema.columns.map { quoteIdentifier($0.name) }
        let sql: String
        let keyIndices: [Int]
        let valueIndices: [Int]
        if schema.hasRowIDKey {
            guard let alias = schema.rowIDKeyName else { throw ReplicaCheckError.noAddressableKey(table: schema.name) }
            let key = quoteIdentifier(alias)
            sql = "SELECT \(([key] + columns).joined(separator: ", ")) FROM \(quoteIdentifier(schema.name)) ORDER BY \(key)"
            keyIndices = [0]
            valueIndices = columns.indices.map { $0 + 1 }
        } else {
            let order = schema.keyColumnIndices.map { "\(columns[$0]) COLLATE BINARY" }
            sql = "SELECT \(columns.joined(separator: ", ")) FROM \(quoteIdentifier(schema.name)) ORDER BY \(order.joined(separator: ", "))"
            keyIndices = schema.keyColumnIndices
            valueIndices = Array(columns.indices)
        }
        return OrderedRowStream(statement: try source.prepare(sql), keyIndices: keyIndices, valueIndices: valueIndices,
                                table: schema.name, database: source.path)
    }
}
