import CDCCore

/// Errors of WAL capture; each message says what to do.
public enum WALCaptureError: Error, Sendable, CustomStringConvertible, Equatable {
    /// SQLite refused a table's `CREATE TABLE` text when the agent re-read it.
    case unreadableSchema(table: String, reason: String)
    /// The change-table triggers are installed: WAL mode would capture `_cdc_changes` writes
    /// and the triggers would double the service's writes for nothing.
    case triggersInstalled(path: String)
    /// A page of the database or WAL does not decode (corruption, or a format this build
    /// does not read).
    case undecodable(path: String, reason: String)
    /// The database is not in WAL mode.
    case notInWALMode(path: String, journalMode: String)
    /// A frame SQLite counts as committed fails its checksum or salts: the `-wal` file was
    /// damaged on disk, so the transactions in and after it cannot be decoded.
    case damagedWAL(path: String, frame: Int, committedFrames: Int)

    public var description: String {
        switch self {
        case .unreadableSchema(let table, let reason):
            return "the schema of table \(table) cannot be read back by SQLite (\(reason)); WAL capture cannot decode its rows"
        case .triggersInstalled(let path):
            return "\(path): change-table capture is installed; use --mode triggers, or run `cdc-agent uninstall --db \(path)` to capture from the WAL"
        case .undecodable(let path, let reason):
            return "\(path): \(reason); check the file with `sqlite3 \(path) 'PRAGMA integrity_check'`"
        case .notInWALMode(let path, let mode):
            return "\(path): the database is in journal mode \(mode.isEmpty ? "unknown" : mode), not WAL; WAL capture needs PRAGMA journal_mode=WAL"
        case .damagedWAL(let path, let frame, let committed):
            return "\(path)-wal: frame \(frame + 1) fails its checksum though SQLite counts \(committed) frames committed; the WAL file was damaged on disk, so capture stops here (restore the file, or checkpoint it with the service stopped and restart the agent: it resyncs)"
        }
    }
}
