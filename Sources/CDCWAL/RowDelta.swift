import CDCCore

/// The key of a row in its b-tree: a rowid, or a WITHOUT ROWID table's primary-key fields.
///
/// Keys are compared exactly (storage class and bits, ``SQLiteValue``'s equality), not by
/// SQLite's collation: a WITHOUT ROWID key that changes only in case under NOCASE, or from
/// 1 to 1.0, is a different key (a delete and an insert).
///
/// Source: SQLite, "Database File Format" §2.3 (table b-trees keyed by rowid) and §2.4
/// (WITHOUT ROWID tables: the primary-key columns first in the record)
/// (https://www.sqlite.org/fileformat2.html).
public enum RowKey: Hashable, Sendable, Comparable {
    /// The rowid of a table b-tree row.
    case rowid(Int64)
    /// The first K fields of a WITHOUT ROWID table's record (K primary-key columns).
    case fields([SQLiteValue])

    /// Orders rowids numerically and key fields by ``ValueOrder/totalOrder(_:_:)``, field by
    /// field (a rowid key sorts before a fields key; one diff never mixes them).
    public static func < (lhs: RowKey, rhs: RowKey) -> Bool {
        switch (lhs, rhs) {
        case let (.rowid(a), .rowid(b)): return a < b
        case let (.fields(a), .fields(b)): return ValueOrder.totalOrder(a, b) < 0
        case (.rowid, .fields): return true
        case (.fields, .rowid): return false
        }
    }
}

/// One row's change in one committed transaction, as decoded records.
///
/// The values are the record's fields as stored (``Record/decode(_:pageNumber:)``): not mapped
/// to columns, no affinity applied, an INTEGER PRIMARY KEY column still NULL, fields added by
/// a later ALTER TABLE absent. The caller maps them to columns with the table's schema, unless
/// the tree's ``DiffedTree/rowImageLayout`` did (then they are the row's image).
public struct RowDelta: Hashable, Sendable {
    /// What happened to the row.
    public enum Kind: String, Sendable {
        case insert, update, delete
    }

    /// The row's key.
    public var key: RowKey
    /// The record before the transaction; `nil` for an insert.
    public var before: [SQLiteValue]?
    /// The record after the transaction; `nil` for a delete.
    public var after: [SQLiteValue]?

    /// Makes a delta; at least one of `before` and `after` is not `nil`.
    public init(key: RowKey, before: [SQLiteValue]?, after: [SQLiteValue]?) {
        self.key = key
        self.before = before
        self.after = after
    }

    /// Insert (no before), delete (no after), or update (both).
    public var kind: Kind {
        if before == nil { return .insert }
        return after == nil ? .delete : .update
    }
}
