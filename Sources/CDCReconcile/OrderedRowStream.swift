import CDCCore
import CDCSQLite

/// Streams the rows of one `SELECT … ORDER BY <key> COLLATE BINARY` as (key, values) pairs,
/// one row in memory at a time, and checks that the keys come in ``SQLiteOrdering`` order.
///
/// The check is what makes a merge of two such streams exact: if SQLite ever sorted
/// differently from the Swift comparison (a UTF-16 database), the stream throws instead of
/// letting the merge miscount.
final class OrderedRowStream {
    /// One row: its key values and its compared values.
    struct Row {
        var key: [SQLiteValue]
        var values: [SQLiteValue]
    }

    private let statement: Statement?
    private let keyIndices: [Int]
    private let valueIndices: [Int]
    private let table: String
    private let database: String
    private var previousKey: [SQLiteValue]?

    /// - Parameters:
    ///   - statement: the prepared query, or `nil` for an empty stream (a missing table).
    ///   - keyIndices: result columns that form the key, in key order.
    ///   - valueIndices: result columns returned as the row's values, in order.
    ///   - table: the table name, for errors.
    ///   - database: the database path, for errors.
    init(statement: Statement?, keyIndices: [Int], valueIndices: [Int], table: String, database: String) {
        self.statement = statement
        self.keyIndices = keyIndices
        self.valueIndices = valueIndices
        self.table = table
        self.database = database
    }

    /// The next row, or `nil` after the last.
    /// - Throws: ``SQLiteError`` from the step, ``ReplicaCheckError/keysOutOfOrder(table:database:)``
    ///   when a key sorts before the previous one (equal keys are allowed: a read model
    ///   without a key constraint can hold duplicates, which the merge counts).
    func next() throws -> Row? {
        guard let statement, try statement.step() else { return nil }
        let key = keyIndices.map { statement.value(at: $0) }
        if let previousKey, SQLiteOrdering.compare(keys: previousKey, key) > 0 {
            throw ReplicaCheckError.keysOutOfOrder(table: table, database: database)
        }
        previousKey = key
        return Row(key: key, values: valueIndices.map { statement.value(at: $0) })
    }
}
