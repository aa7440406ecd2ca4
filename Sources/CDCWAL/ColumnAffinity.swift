import CDCCore

/// A column's type affinity, from its declared type, as SQLite derives it.
///
/// The record format stores values as written, with one exception the reader must undo: a
/// REAL value with no fractional part in a column of REAL affinity is written as an integer
/// serial type (an on-disk space optimization) and SQLite converts it back to REAL when it
/// reads the column. ``realizing(_:)`` applies that conversion so decoded rows equal what
/// `SELECT` returns (value and storage class). Because of it, SQLite itself returns `0.0`
/// for a `-0.0` stored in a REAL column.
///
/// Source: SQLite, "Datatypes In SQLite" §3.1 Determination Of Column Affinity and the note on
/// REAL storage in §3 (https://www.sqlite.org/datatype3.html).
public enum ColumnAffinity: Hashable, Sendable {
    /// Declared type contains "INT".
    case integer
    /// Contains "CHAR", "CLOB" or "TEXT".
    case text
    /// Contains "BLOB", or no type at all.
    case blob
    /// Contains "REAL", "FLOA" or "DOUB".
    case real
    /// Anything else.
    case numeric

    /// The affinity of a column declared with `declaredType`, by §3.1's rules in order.
    public init(declaredType: String) {
        let t = declaredType.uppercased()
        if t.contains("INT") { self = .integer }
        else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") { self = .text }
        else if t.contains("BLOB") || t.allSatisfy(\.isWhitespace) { self = .blob }
        else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") { self = .real }
        else { self = .numeric }
    }

    /// The value as SQLite reads it from a column of this affinity: an integer stored in a
    /// REAL column becomes a real; every other value is unchanged.
    public func realizing(_ value: SQLiteValue) -> SQLiteValue {
        if self == .real, case .integer(let i) = value { return .real(Double(i)) }
        return value
    }
}
