import CDCCore
import CDCSQLite

/// The names and SQL of the change-table capture, in one place (docs/change-table-capture.md).
///
/// Layout in the source database:
/// - `_cdc_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID`: install id, change-table width,
///   and per captured table its numeric id, name, trigger generation and schema version.
/// - `_cdc_changes(seq INTEGER PRIMARY KEY, tbl, gen, op, ts_jd, rk_old, rk,
///   b0…b(N-1), a0…a(N-1))`: one row per row change, written by the triggers. Image columns
///   have no declared type (no affinity), so every value keeps its storage class and bits.
///   `seq` is a plain rowid alias, not AUTOINCREMENT: the agent never deletes the highest
///   consumed row, so SQLite's "largest rowid + 1" keeps `seq` growing without reuse, and the
///   service's every write is spared AUTOINCREMENT's `sqlite_sequence` read and update
///   (about a third of the trigger's cost, measured with callgrind).
///   Source: https://www.sqlite.org/autoinc.html
/// - Triggers `_cdc_<gen>_<ins|upd|del>_<table id>`: `AFTER INSERT/UPDATE/DELETE` on each
///   captured table, each one `INSERT INTO _cdc_changes`.
///
/// Source: SQLite, "CREATE TRIGGER" (https://www.sqlite.org/lang_createtrigger.html) and
/// "Datatypes In SQLite" §3.1 (a column without a declared type has BLOB affinity).
public enum ChangeTableLayout {
    /// The meta table's name.
    public static let metaTable = "_cdc_meta"
    /// The change table's name.
    public static let changeTable = "_cdc_changes"
    /// The format of the meta table this build writes.
    public static let formatVersion: Int64 = 1

    /// The `op` codes the triggers write.
    public enum OperationCode: Int64, Sendable {
        case insert = 1, update = 2, delete = 3
    }

    /// Which trigger of a table.
    public enum TriggerKind: String, Sendable, CaseIterable {
        case insert = "ins", update = "upd", delete = "del"
    }

    /// The statement's time as a Julian day number (a real), in core SQL only (no extension,
    /// no user function), so any writer connection accepts it. The agent turns it into UTC
    /// milliseconds (``millisecondsSince1970(julianDay:)``): converting in the trigger costs
    /// the service's every write a few hundred more instructions (measured with callgrind).
    /// Source: https://www.sqlite.org/lang_datefunc.html (no argument means 'now').
    static let timestampSQL = "julianday()"

    /// UTC milliseconds since 1970 from a Julian day number (1970-01-01 is 2440587.5).
    public static func millisecondsSince1970(julianDay: Double) -> Int64 {
        let ms = ((julianDay - 2_440_587.5) * 86_400_000).rounded()
        guard ms.isFinite, abs(ms) < 9.2e18 else { return 0 }
        return Int64(ms)
    }

    /// The trigger name for a table id, generation and kind; never contains the table name,
    /// so it is a plain identifier for any table.
    public static func triggerName(tableID: Int64, generation: Int64, kind: TriggerKind) -> String {
        "_cdc_\(generation)_\(kind.rawValue)_\(tableID)"
    }

    /// Whether `name` is a trigger name this layout makes (`_cdc_<n>_<ins|upd|del>_<n>`).
    public static func isTriggerName(_ name: String) -> Bool {
        let parts = name.split(separator: "_", omittingEmptySubsequences: false)
        // "", "cdc", gen, kind, id
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "cdc",
              Int64(parts[2]) != nil, Int64(parts[4]) != nil,
              TriggerKind(rawValue: String(parts[3])) != nil else { return false }
        return true
    }

    /// Before-image column `i` of the change table.
    static func beforeColumn(_ i: Int) -> String { "b\(i)" }
    /// After-image column `i` of the change table.
    static func afterColumn(_ i: Int) -> String { "a\(i)" }

    /// `CREATE TABLE _cdc_changes` with `width` before and after columns.
    static func createChangeTableSQL(width: Int) -> String {
        var columns = [
            "seq INTEGER PRIMARY KEY", "tbl INTEGER NOT NULL", "gen INTEGER NOT NULL",
            "op INTEGER NOT NULL", "ts_jd REAL NOT NULL", "rk_old", "rk",
        ]
        columns += (0..<width).map(beforeColumn)
        columns += (0..<width).map(afterColumn)
        return "CREATE TABLE \(changeTable)(\(columns.joined(separator: ", ")))"
    }

    /// `ALTER TABLE … ADD COLUMN` statements widening the change table from `old` to `new`.
    static func widenSQL(from old: Int, to new: Int) -> [String] {
        guard new > old else { return [] }
        return (old..<new).flatMap { i in
            ["ALTER TABLE \(changeTable) ADD COLUMN \(beforeColumn(i))",
             "ALTER TABLE \(changeTable) ADD COLUMN \(afterColumn(i))"]
        }
    }

    /// The three `CREATE TRIGGER` statements for one table.
    ///
    /// - Parameters:
    ///   - schema: the table's current schema; its columns are recorded positionally.
    ///   - tableID: the table's id in `_cdc_meta`.
    ///   - generation: the trigger generation (grows on every rebuild).
    /// - Throws: ``SchemaError/noAddressableKey`` for a rowid table whose columns shadow
    ///   every rowid alias.
    static func createTriggerSQL(for schema: TableSchema, tableID: Int64, generation: Int64) throws -> [String] {
        let table = quoteIdentifier(schema.name)
        var rowid: String?
        if schema.hasRowIDKey {
            guard let alias = schema.rowIDKeyName else { throw SchemaError.noAddressableKey(schema.name) }
            rowid = alias
        }
        let columns = schema.columns.map { quoteIdentifier($0.name) }
        let head = "\(tableID), \(generation)"
        func statement(_ kind: TriggerKind, event: String, code: OperationCode, targets: [String], values: [String]) -> String {
            let name = triggerName(tableID: tableID, generation: generation, kind: kind)
            return """
                CREATE TRIGGER \(name) AFTER \(event) ON \(table) FOR EACH ROW BEGIN \
                INSERT INTO \(changeTable)(tbl, gen, op, ts_jd\(targets.map { ", " + $0 }.joined())) \
                VALUES (\(head), \(code.rawValue), \(timestampSQL)\(values.map { ", " + $0 }.joined())); END
                """
        }
        let beforeTargets = columns.indices.map(beforeColumn)
        let afterTargets = columns.indices.map(afterColumn)
        let oldValues = columns.map { "OLD." + $0 }
        let newValues = columns.map { "NEW." + $0 }
        var rkTarget: [String] = [], rkOldTarget: [String] = []
        var newRowID: [String] = [], oldRowID: [String] = []
        if let rowid {
            rkTarget = ["rk"]
            rkOldTarget = ["rk_old"]
            newRowID = ["NEW." + rowid]
            oldRowID = ["OLD." + rowid]
        }
        return [
            statement(.insert, event: "INSERT", code: .insert,
                      targets: rkTarget + afterTargets, values: newRowID + newValues),
            statement(.update, event: "UPDATE", code: .update,
                      targets: rkOldTarget + rkTarget + beforeTargets + afterTargets,
                      values: oldRowID + newRowID + oldValues + newValues),
            statement(.delete, event: "DELETE", code: .delete,
                      targets: rkTarget + beforeTargets, values: oldRowID + oldValues),
        ]
    }

    /// `DROP TRIGGER IF EXISTS` for one generation of a table's triggers.
    static func dropTriggerSQL(tableID: Int64, generation: Int64) -> [String] {
        TriggerKind.allCases.map { "DROP TRIGGER IF EXISTS \(triggerName(tableID: tableID, generation: generation, kind: $0))" }
    }

    /// A schema's shape as stable text (its JSON form with version 0), for detecting column
    /// changes between trigger generations.
    static func shapeText(of schema: TableSchema) -> String {
        var s = schema
        s.version = 0
        var w = JSONWriter()
        s.write(to: &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
