import CSQLite
import CDCCore

/// One owning wrapper of an `sqlite3*` connection.
///
/// Not `Sendable`: reach a connection through one owner (an actor, a serial queue or a single
/// task). Statements it prepares must not outlive it.
///
/// Source: SQLite C interface, "Opening A New Database Connection"
/// (https://www.sqlite.org/c3ref/open.html).
public final class Connection {
    /// How to open the file.
    public enum Mode: Sendable {
        /// Read-only; the file must exist.
        case readOnly
        /// Read-write; the file must exist.
        case readWrite
        /// Read-write, creating the file when missing.
        case create
    }

    /// The file path the connection was opened with.
    public let path: String
    private var handle: OpaquePointer?
    /// Statements prepared here and still alive, so ``close()`` can finalize them first:
    /// owners that cache statements need not release them in a particular order.
    private var statements: [WeakStatement] = []

    /// Opens a database.
    ///
    /// - Parameters:
    ///   - path: the database file.
    ///   - mode: read-only, read-write, or create.
    ///   - busyTimeoutMilliseconds: how long a statement waits for a lock held by another
    ///     connection before it fails with `SQLITE_BUSY`.
    /// - Throws: ``SQLiteError`` when the file cannot be opened (missing, permissions, not
    ///   a database: the last is detected here by reading the schema).
    public init(path: String, mode: Mode = .readWrite, busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        var flags: Int32 = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        switch mode {
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            let systemErrno = db.map { sqlite3_system_errno($0) } ?? 0
            sqlite3_close_v2(db)
            throw SQLiteError(code: ResultCode(rawValue: rc), message: message, path: path, systemErrno: systemErrno)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        do {
            // Opening is lazy in SQLite; touching the schema makes a non-database file fail
            // here, with its path, instead of at the first real statement.
            try execute("SELECT count(*) FROM sqlite_schema")
        } catch {
            sqlite3_close_v2(db)
            handle = nil
            throw error
        }
    }

    deinit {
        if let handle { sqlite3_close_v2(handle) }
    }

    /// Closes the connection.
    /// - Throws: ``SQLiteError`` if statements are still open (a bug) or the close fails.
    public func close() throws {
        guard let h = handle else { return }
        for s in statements { s.statement?.finalize() }
        statements.removeAll()
        let rc = sqlite3_close(h)
        guard rc == SQLITE_OK else { throw makeError(rc) }
        handle = nil
    }

    /// The raw handle, for statements of this module.
    func withHandle<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        guard let handle else { throw SQLiteError(code: .misuse, message: "connection is closed", path: path) }
        return try body(handle)
    }

    func makeError(_ rc: Int32, sql: String? = nil) -> SQLiteError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return SQLiteError(code: ResultCode(rawValue: rc), message: message, path: path, sql: sql, systemErrno: handle.map { sqlite3_system_errno($0) } ?? 0)
    }

    /// Runs one or more SQL statements that take no parameters, discarding any rows.
    /// - Throws: ``SQLiteError``.
    public func execute(_ sql: String) throws {
        try withHandle { h in
            var errmsg: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(h, sql, nil, nil, &errmsg)
            if rc != SQLITE_OK {
                let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
                sqlite3_free(errmsg)
                throw SQLiteError(code: ResultCode(rawValue: rc), message: message, path: path, sql: sql, systemErrno: sqlite3_system_errno(h))
            }
        }
    }

    /// Runs one statement with parameters, discarding rows.
    /// - Returns: the number of rows changed (`sqlite3_changes64`).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLiteValue]) throws -> Int64 {
        let statement = try prepare(sql)
        try statement.bind(parameters)
        while try statement.step() {}
        return try withHandle { sqlite3_changes64($0) }
    }

    /// Prepares a statement.
    /// - Throws: ``SQLiteError`` for invalid SQL or a missing table.
    public func prepare(_ sql: String) throws -> Statement {
        let statement = try Statement(connection: self, sql: sql)
        statements.removeAll { $0.statement == nil }
        statements.append(WeakStatement(statement: statement))
        return statement
    }

    /// Runs a query and returns all its rows (for small results: schema, metadata).
    /// - Complexity: O(rows); use ``Statement/step()`` to stream large results.
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        try statement.bind(parameters)
        var rows: [[SQLiteValue]] = []
        while try statement.step() { rows.append(statement.row()) }
        return rows
    }

    /// The first column of the first row, or `nil` when there is no row.
    public func scalar(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> SQLiteValue? {
        let statement = try prepare(sql)
        try statement.bind(parameters)
        return try statement.step() ? statement.value(at: 0) : nil
    }

    /// The rowid of the last successful insert on this connection.
    public var lastInsertRowID: Int64 { (try? withHandle { sqlite3_last_insert_rowid($0) }) ?? 0 }

    /// Sets how long a statement waits for a lock held by another connection before it
    /// fails with `SQLITE_BUSY`; 0 fails at once. Source: https://www.sqlite.org/c3ref/busy_timeout.html
    /// - Throws: ``SQLiteError`` when the connection is closed.
    public func setBusyTimeout(milliseconds: Int32) throws {
        try withHandle { _ = sqlite3_busy_timeout($0, milliseconds) }
    }

    /// Whether the connection is outside any explicit transaction (autocommit mode).
    public var isAutocommit: Bool { (try? withHandle { sqlite3_get_autocommit($0) != 0 }) ?? true }

    /// Runs `body` inside `BEGIN <kind>` … `COMMIT`, rolling back when it throws.
    ///
    /// - Parameter kind: `DEFERRED` (reads), `IMMEDIATE` (takes the write lock now, so the
    ///   transaction cannot fail later with a busy upgrade) or `EXCLUSIVE`.
    /// - Throws: what `body` throws, or ``SQLiteError`` from BEGIN/COMMIT.
    public func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        try execute("BEGIN \(kind.rawValue)")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if !isAutocommit { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// `PRAGMA data_version`: changes whenever another connection commits to the file.
    /// Source: https://www.sqlite.org/pragma.html#pragma_data_version
    public func dataVersion() throws -> Int64 {
        guard case .integer(let v)? = try scalar("PRAGMA data_version") else { return 0 }
        return v
    }

    /// `PRAGMA schema_version`: grows whenever the schema changes.
    public func schemaVersion() throws -> Int64 {
        guard case .integer(let v)? = try scalar("PRAGMA schema_version") else { return 0 }
        return v
    }

    /// The journal mode (`wal`, `delete`, …), lowercased.
    public func journalMode() throws -> String {
        (try scalar("PRAGMA journal_mode"))?.stringValue?.lowercased() ?? ""
    }
}

/// The kinds of `BEGIN`. Source: https://www.sqlite.org/lang_transaction.html
public enum TransactionKind: String, Sendable {
    case deferred = "DEFERRED"
    case immediate = "IMMEDIATE"
    case exclusive = "EXCLUSIVE"
}

private struct WeakStatement {
    weak var statement: Statement?
}
