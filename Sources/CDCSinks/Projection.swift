import CDCCore
import Foundation

/// Which source tables and columns a read model keeps, renamed and filtered.
///
/// The JSON file form (docs/projections.md):
/// ```json
/// {
///   "tables": {
///     "orders": {
///       "as": "open_orders",
///       "columns": ["id", "customer_id", {"name": "total", "as": "amount"}],
///       "where": {"column": "status", "op": "=", "value": "open"}
///     },
///     "customers": {}
///   }
/// }
/// ```
/// Without a file, every table and column is kept under its own name (``identity``). A
/// table rule without `columns` keeps every column. Key columns must be kept (a read
/// model row must be addressable by the source key); filters compare with SQLite's own
/// rules through ``RowFilter``.
public struct Projection: Sendable, Equatable {
    /// The rule of one table.
    public struct TableRule: Sendable, Equatable {
        /// The source table name.
        public var source: String
        /// The read-model table name.
        public var target: String
        /// Kept columns, in read-model order; `nil` keeps all under their own names.
        public var columns: [ColumnRule]?
        /// Rows kept; `nil` keeps all.
        public var filter: RowFilter?

        public init(source: String, target: String? = nil, columns: [ColumnRule]? = nil, filter: RowFilter? = nil) {
            self.source = source
            self.target = target ?? source
            self.columns = columns
            self.filter = filter
        }
    }

    /// One kept column and its read-model name.
    public struct ColumnRule: Sendable, Equatable {
        public var source: String
        public var target: String
        public init(source: String, target: String? = nil) {
            self.source = source
            self.target = target ?? source
        }
    }

    /// Rules by source table name; `nil` means every table, unchanged.
    public var tables: [String: TableRule]?

    public init(tables: [String: TableRule]?) { self.tables = tables }

    /// Every table and column, under its own name.
    public static let identity = Projection(tables: nil)

    /// The rule for a source table, or `nil` when the read model does not keep it.
    public func rule(for table: String) -> TableRule? {
        guard let tables else { return TableRule(source: table) }
        return tables[table]
    }

    /// The source tables the projection names, sorted (`nil` for every table).
    public var sourceTables: [String]? { tables.map { $0.keys.sorted() } }
}

/// The row of a table as the read model keeps it: source schema → target schema, source
/// image → target image.
public struct ProjectedTable: Sendable, Equatable {
    public let rule: Projection.TableRule
    public let sourceSchema: TableSchema
    /// The read-model schema: target table name, kept columns renamed, same key positions
    /// and declared types.
    public let targetSchema: TableSchema
    /// For each target column, its index in the source columns.
    public let sourceIndices: [Int]
    /// Index of the filter column in the source columns.
    private let filterIndex: Int?

    /// Applies a rule to a source schema.
    /// - Throws: ``ProjectionError`` when the rule names a column the table lacks, leaves
    ///   out a key column, or maps two columns to one name.
    public init(rule: Projection.TableRule, sourceSchema: TableSchema) throws {
        self.rule = rule
        self.sourceSchema = sourceSchema
        let byName = Dictionary(sourceSchema.columns.enumerated().map { ($1.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        var indices: [Int] = []
        var columns: [ColumnSchema] = []
        let kept = rule.columns ?? sourceSchema.columns.map { Projection.ColumnRule(source: $0.name) }
        var targetNames = Set<String>()
        for c in kept {
            guard let i = byName[c.source.lowercased()] else {
                throw ProjectionError.unknownColumn(table: rule.source, column: c.source)
            }
            guard targetNames.insert(c.target.lowercased()).inserted else {
                throw ProjectionError.invalid("table \(rule.source): two columns map to \(c.target)")
            }
            indices.append(i)
            var col = sourceSchema.columns[i]
            col.name = c.target
            columns.append(col)
        }
        for k in sourceSchema.keyColumnIndices where !indices.contains(k) {
            throw ProjectionError.keyColumnDropped(table: rule.source, column: sourceSchema.columns[k].name)
        }
        if let f = rule.filter {
            guard let i = byName[f.column.lowercased()] else {
                throw ProjectionError.unknownColumn(table: rule.source, column: f.column)
            }
            filterIndex = i
        } else {
            filterIndex = nil
        }
        sourceIndices = indices
        targetSchema = TableSchema(name: rule.target, version: sourceSchema.version, columns: columns, isWithoutRowID: sourceSchema.isWithoutRowID)
    }

    /// The target image of a source image (aligned with `sourceSchema.columns`).
    public func project(_ image: [SQLiteValue]) -> [SQLiteValue] {
        sourceIndices.map { $0 < image.count ? image[$0] : .null }
    }

    /// Whether the read model keeps a source row.
    public func keeps(_ image: [SQLiteValue]) -> Bool {
        guard let filter = rule.filter, let i = filterIndex else { return true }
        return filter.matches(i < image.count ? image[i] : .null)
    }
}

/// A simple row predicate: `column op value`.
///
/// Comparison follows SQLite's rules for values of different storage classes (NULL < numbers
/// < text < blobs; integers and reals compare numerically; text by bytes, like the BINARY
/// collation), and a comparison with NULL is false, as in SQL.
/// Source: https://www.sqlite.org/datatype3.html#comparisons
public struct RowFilter: Sendable, Equatable {
    public enum Op: String, Sendable, CaseIterable {
        case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case isNull = "is null", isNotNull = "is not null", isIn = "in"
    }

    public var column: String
    public var op: Op
    /// The operand (one value; several for `in`; none for the null tests).
    public var values: [SQLiteValue]

    public init(column: String, op: Op, values: [SQLiteValue]) {
        self.column = column
        self.op = op
        self.values = values
    }

    public func matches(_ v: SQLiteValue) -> Bool {
        switch op {
        case .isNull: return v.isNull
        case .isNotNull: return !v.isNull
        case .isIn: return !v.isNull && values.contains { RowFilter.compare(v, $0) == 0 }
        default:
            guard !v.isNull, let operand = values.first, !operand.isNull, let c = RowFilter.compare(v, operand) else { return false }
            switch op {
            case .equal: return c == 0
            case .notEqual: return c != 0
            case .less: return c < 0
            case .lessOrEqual: return c <= 0
            case .greater: return c > 0
            case .greaterOrEqual: return c >= 0
            default: return false
            }
        }
    }

    /// SQLite's ordering of two non-NULL values without affinity conversion: -1, 0, 1.
    static func compare(_ a: SQLiteValue, _ b: SQLiteValue) -> Int? {
        func rank(_ v: SQLiteValue) -> Int {
            switch v { case .null: return 0; case .integer, .real: return 1; case .text: return 2; case .blob: return 3 }
        }
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb ? -1 : 1 }
        switch (a, b) {
        case let (.integer(x), .integer(y)): return x == y ? 0 : (x < y ? -1 : 1)
        case let (.integer(x), .real(y)): return compareIntReal(x, y)
        case let (.real(x), .integer(y)): return -compareIntReal(y, x)
        case let (.real(x), .real(y)): return x == y ? 0 : (x < y ? -1 : 1)
        case let (.text(x), .text(y)), let (.blob(x), .blob(y)):
            return x == y ? 0 : (x.lexicographicallyPrecedes(y) ? -1 : 1)
        default: return 0
        }
    }

    /// Compares an integer with a real exactly (no rounding of the integer to a double).
    private static func compareIntReal(_ i: Int64, _ r: Double) -> Int {
        if r.isNaN { return 1 }
        if r >= 9223372036854775808.0 { return -1 }
        if r < -9223372036854775808.0 { return 1 }
        let t = r.rounded(.down)
        let ti = Int64(t)
        if i != ti { return i < ti ? -1 : 1 }
        return t == r ? 0 : -1
    }
}

/// Errors of projection files and of applying them.
public enum ProjectionError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalid(String)
    case unknownTable(String)
    case unknownColumn(table: String, column: String)
    case keyColumnDropped(table: String, column: String)

    public var description: String {
        switch self {
        case .invalid(let m): return "malformed projection: \(m)"
        case .unknownTable(let t): return "projection names table \(t), which the source does not have (or does not capture)"
        case .unknownColumn(let t, let c): return "projection names column \(c) of table \(t), which the table does not have"
        case .keyColumnDropped(let t, let c): return "projection of table \(t) leaves out key column \(c); a read model must keep every key column"
        }
    }
}
