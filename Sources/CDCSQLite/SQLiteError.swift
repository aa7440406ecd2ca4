import CSQLite

/// An SQLite result code (primary or extended), named as in sqlite3.h.
///
/// Source: SQLite, "Result and Error Codes" (https://www.sqlite.org/rescode.html).
public struct ResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The primary code (the low 8 bits of an extended code).
    public var primary: ResultCode { ResultCode(rawValue: rawValue & 0xFF) }

    /// `SQLITE_ERROR`: a generic error (syntax, missing table, …).
    public static let error = ResultCode(rawValue: SQLITE_ERROR)
    /// `SQLITE_BUSY`: another connection holds a conflicting lock.
    public static let busy = ResultCode(rawValue: SQLITE_BUSY)
    /// `SQLITE_LOCKED`: a conflict inside the same connection or shared cache.
    public static let locked = ResultCode(rawValue: SQLITE_LOCKED)
    /// `SQLITE_READONLY`: a write was attempted on a read-only database.
    public static let readOnly = ResultCode(rawValue: SQLITE_READONLY)
    /// `SQLITE_CANTOPEN`: the file could not be opened.
    public static let cantOpen = ResultCode(rawValue: SQLITE_CANTOPEN)
    /// `SQLITE_NOTADB`: the file is not an SQLite database.
    public static let notADatabase = ResultCode(rawValue: SQLITE_NOTADB)
    /// `SQLITE_CORRUPT`: the database file is malformed.
    public static let corrupt = ResultCode(rawValue: SQLITE_CORRUPT)
    /// `SQLITE_CONSTRAINT`: a constraint was violated.
    public static let constraint = ResultCode(rawValue: SQLITE_CONSTRAINT)
    /// `SQLITE_MISUSE`: the library was used incorrectly (a bug in this project).
    public static let misuse = ResultCode(rawValue: SQLITE_MISUSE)
    /// `SQLITE_FULL`: the disk is full.
    public static let full = ResultCode(rawValue: SQLITE_FULL)
    /// `SQLITE_IOERR`: an I/O error.
    public static let ioError = ResultCode(rawValue: SQLITE_IOERR)
    /// `SQLITE_PERM`: access permission denied.
    public static let permission = ResultCode(rawValue: SQLITE_PERM)

    public var description: String {
        String(cString: sqlite3_errstr(rawValue)) + " (\(rawValue))"
    }
}

/// An error from libsqlite3, with the database path and the statement's SQL as context.
///
/// Bound values are never part of the description: they may be personal data.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code.
    public var code: ResultCode
    /// SQLite's message (`sqlite3_errmsg`).
    public var message: String
    /// The database file, when known.
    public var path: String?
    /// The SQL text, when the error came from a statement.
    public var sql: String?
    /// The operating system's `errno` behind an I/O error (`sqlite3_system_errno`), 0 when
    /// there was none: it tells a full disk (`ENOSPC`) or a file-size limit (`EFBIG`) behind
    /// `SQLITE_IOERR_WRITE` from any other write failure.
    /// Source: https://www.sqlite.org/c3ref/system_errno.html
    public var systemErrno: Int32

    public init(code: ResultCode, message: String, path: String? = nil, sql: String? = nil, systemErrno: Int32 = 0) {
        self.code = code
        self.message = message
        self.path = path
        self.sql = sql
        self.systemErrno = systemErrno
    }

    /// Whether retrying later can succeed (busy or locked).
    public var isBusy: Bool { code.primary == .busy || code.primary == .locked }

    public var description: String {
        var s = message
        if let path { s = "\(path): \(s)" }
        switch code.primary {
        case .busy, .locked: s += " (another connection holds the lock; retry, or raise the busy timeout)"
        case .readOnly: s += " (the file or its folder is read-only; the agent needs write access to its own tables)"
        case .notADatabase: s += " (check the path: it must name an SQLite database file)"
        case .cantOpen: s += " (check the path and its permissions)"
        case .corrupt: s += " (the database is corrupt; run PRAGMA integrity_check)"
        default: break
        }
        return s
    }
}
