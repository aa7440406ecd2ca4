import CSQLite

/// The version of the libsqlite3 this process runs with (`sqlite3_libversion()`), for
/// benchmark and diagnostic output.
public func sqliteVersion() -> String {
    String(cString: sqlite3_libversion())
}
