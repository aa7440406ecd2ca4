import CSQLite
import CDCCore

/// One owning wrapper of a prepared `sqlite3_stmt*`; finalized in `deinit`.
///
/// Values are bound and read with their exact storage class: text and blobs are copied with
/// `SQLITE_TRANSIENT`, so no Swift pointer escapes the call.
/// Source: https://www.sqlite.org/c3ref/stmt.html
public final class Statement {
    public let sql: String
    private let connection: Connection
    private var handle: OpaquePointer?

    init(connection: Connection, sql: String) throws {
        self.connection = connection
        self.sql = sql
        handle = try connection.withHandle { db in
            var stmt: OpaquePointer?
            let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
            guard rc == SQLITE_OK else { throw connection.makeError(rc, sql: sql) }
            guard let stmt else { throw SQLiteError(code: .misuse, message: "empty statement", path: connection.path, sql: sql) }
            return stmt
        }
    }

    deinit { sqlite3_finalize(handle) }

    /// Finalizes the statement now (its connection is closing); later use fails with
    /// `SQLITE_MISUSE` instead of touching freed memory.
    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }

    /// Number of result columns.
    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    /// The name of result column `index`.
    public func columnName(at index: Int) -> String {
        sqlite3_column_name(handle, Int32(index)).map { String(cString: $0) } ?? ""
    }

    /// Resets the statement and clears its bindings, keeping it prepared.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` to parameters 1…n after a reset.
    /// - Throws: ``SQLiteError`` when the count does not match or binding fails.
    public func bind(_ values: [SQLiteValue]) throws {
        guard handle != nil else { throw SQLiteError(code: .misuse, message: "statement used after its connection closed", path: connection.path, sql: sql) }
        // Every parameter is bound again below, so clearing the old bindings would be wasted
        // work on the hot path (one call per row applied).
        sqlite3_reset(handle)
        guard Int(sqlite3_bind_parameter_count(handle)) == values.count else {
            throw SQLiteError(code: .misuse, message: "statement takes \(sqlite3_bind_parameter_count(handle)) parameters, got \(values.count)", path: connection.path, sql: sql)
        }
        for (i, v) in values.enumerated() { try bind(v, at: i + 1) }
    }

    /// Binds one value to the 1-based parameter `index`.
    public func bind(_ value: SQLiteValue, at index: Int) throws {
        let i = Int32(index)
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, i)
        case .integer(let v): rc = sqlite3_bind_int64(handle, i, v)
        case .real(let v): rc = sqlite3_bind_double(handle, i, v)
        case .text(let bytes):
            if bytes.isEmpty {
                // An empty buffer has no base address; bind '' explicitly so it stays text, not NULL.
                rc = sqlite3_bind_text64(handle, i, "", 0, cdc_sqlite_transient(), UInt8(SQLITE_UTF8))
            } else {
                rc = bytes.withUnsafeBufferPointer { buf in
                    buf.withMemoryRebound(to: CChar.self) {
                        sqlite3_bind_text64(handle, i, $0.baseAddress, sqlite3_uint64(bytes.count), cdc_sqlite_transient(), UInt8(SQLITE_UTF8))
                    }
                }
            }
        case .blob(let bytes):
            rc = bytes.withUnsafeBufferPointer { buf in
                if bytes.isEmpty { return sqlite3_bind_zeroblob(handle, i, 0) }
                return sqlite3_bind_blob64(handle, i, buf.baseAddress, sqlite3_uint64(bytes.count), cdc_sqlite_transient())
            }
        }
        guard rc == SQLITE_OK else { throw connection.makeError(rc, sql: sql) }
    }

    // MARK: - Binding without `SQLiteValue`

    // For loops that insert many rows (the event log's append): no array of values and no
    // copy of a string's bytes into a new array per row. The statement must be reset: fresh,
    // or after ``run()``; binding one that is mid-step fails with `SQLITE_MISUSE`.

    /// Binds an integer to the 1-based parameter `index`.
    /// - Throws: ``SQLiteError`` (for example `SQLITE_RANGE` for an index out of range).
    /// Source: https://www.sqlite.org/c3ref/bind_blob.html
    public func bind(int64 value: Int64, at index: Int) throws {
        try checkOpen()
        try check(sqlite3_bind_int64(handle, Int32(index), value))
    }

    /// Binds NULL to the 1-based parameter `index`.
    /// - Throws: ``SQLiteError``.
    public func bindNull(at index: Int) throws {
        try checkOpen()
        try check(sqlite3_bind_null(handle, Int32(index)))
    }

    /// Binds text given as its bytes (UTF-8, kept as they are) to the 1-based parameter
    /// `index`. SQLite copies them (`SQLITE_TRANSIENT`) before this returns, so the buffer
    /// need only live for the call.
    /// - Throws: ``SQLiteError``.
    public func bind(textBytes bytes: UnsafeRawBufferPointer, at index: Int) throws {
        try checkOpen()
        let i = Int32(index)
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            // No base address for an empty buffer; bind '' explicitly so it stays text, not NULL.
            return try check(sqlite3_bind_text64(handle, i, "", 0, cdc_sqlite_transient(), UInt8(SQLITE_UTF8)))
        }
        try check(sqlite3_bind_text64(handle, i, base.assumingMemoryBound(to: CChar.self), sqlite3_uint64(bytes.count),
                                      cdc_sqlite_transient(), UInt8(SQLITE_UTF8)))
    }

    /// Binds a string's UTF-8 bytes as text to the 1-based parameter `index` (copied by
    /// SQLite, as ``bind(textBytes:at:)``).
    /// - Throws: ``SQLiteError``.
    public func bind(text: String, at index: Int) throws {
        var text = text
        try text.withUTF8 { try bind(textBytes: UnsafeRawBufferPointer($0), at: index) }
    }

    /// Runs the statement to completion with the parameters bound so far, then resets it,
    /// keeping the bindings; for inserts and updates in a loop.
    /// - Throws: ``SQLiteError`` (busy, constraint, I/O …).
    public func run() throws {
        while try step() {}
        sqlite3_reset(handle)
    }

    private func checkOpen() throws {
        guard handle != nil else { throw SQLiteError(code: .misuse, message: "statement used after its connection closed", path: connection.path, sql: sql) }
    }

    private func check(_ rc: Int32) throws {
        guard rc == SQLITE_OK else { throw connection.makeError(rc, sql: sql) }
    }

    /// Advances to the next row.
    /// - Returns: `true` when a row is available, `false` when done.
    /// - Throws: ``SQLiteError`` (busy, constraint, I/O …).
    public func step() throws -> Bool {
        guard handle != nil else { throw SQLiteError(code: .misuse, message: "statement used after its connection closed", path: connection.path, sql: sql) }
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.makeError(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Binds, runs to completion and resets; for inserts and updates in a loop.
    public func run(_ values: [SQLiteValue]) throws {
        try bind(values)
        while try step() {}
    }

    /// The value of result column `index` in the current row, with its storage class.
    public func value(at index: Int) -> SQLiteValue {
        let i = Int32(index)
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, i))
        case SQLITE_TEXT:
            let n = Int(sqlite3_column_bytes(handle, i))
            guard n > 0, let p = sqlite3_column_text(handle, i) else { return .text([]) }
            return .text(Array(UnsafeBufferPointer(start: p, count: n)))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(handle, i))
            guard n > 0, let p = sqlite3_column_blob(handle, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }

    /// All values of the current row.
    public func row() -> [SQLiteValue] {
        (0..<columnCount).map { value(at: $0) }
    }
}
