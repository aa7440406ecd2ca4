import CDCCore
import CDCSQLite

/// Why a check could not run (bad input, I/O); the replica-check executable exits 2 on these.
///
/// A diverged replica is not an error: it is a ``CheckReport`` whose
/// ``CheckReport/isConsistent`` is `false`. Descriptions are one line, name the file or table,
/// say what to do, and never contain row values (they may be personal data); keys may appear
/// only in ``keysOutOfOrder(table:database:)``, and there only the table name.
public enum ReplicaCheckError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case noSuchFile(path: String, role: String)
    /// The replica has no `_cdc_sink_offset` table: it is not a replica a sink built.
    case notAReplica(path: String)
    /// The file given as the source is a replica or an event log.
    case notASource(path: String, reason: String)
    /// A projection or captured-table list names a table the source does not have.
    case unknownSourceTable(String, path: String)
    /// Neither the captured-table list nor the projection leaves any table to compare.
    case noTables(path: String)
    /// A source table has no primary key and every rowid alias is a column name, so rows
    /// cannot be addressed by key.
    case noAddressableKey(table: String)
    /// SQLite returned keys in an order other than ``SQLiteOrdering`` predicts (for example
    /// a UTF-16 database, whose text sorts by UTF-16 code units); counting would be wrong.
    case keysOutOfOrder(table: String, database: String)

    public var description: String {
        switch self {
        case let .noSuchFile(path, role):
            return "\(path): no such file (the \(role) database); check the path"
        case .notASource(let path, let reason):
            return "\(path): not a source database: \(reason); pass the service's database with --source"
        case .notAReplica(let path):
            return "\(path): not a replica (no _cdc_sink_offset table); pass the database cdc-sink writes with --replica"
        case let .unknownSourceTable(table, path):
            return "\(path): no table named \(quoteIdentifier(table)) in the source; check the projection's table names (case-sensitive)"
        case .noTables(let path):
            return "\(path): no captured table to compare; install capture or list tables in the projection"
        case .noAddressableKey(let table):
            return "table \(quoteIdentifier(table)) has no primary key and its columns shadow every rowid alias (rowid, _rowid_, oid); rows cannot be compared by key"
        case let .keysOutOfOrder(table, database):
            return "\(database): table \(quoteIdentifier(table)) returned keys out of SQLite's BINARY order (a UTF-16 database?); replica-check supports UTF-8 databases only"
        }
    }
}
