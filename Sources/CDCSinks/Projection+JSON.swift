import CDCCore
import Foundation

extension Projection {
    /// Loads a projection file (JSON, see ``Projection``).
    /// - Throws: ``ProjectionError/invalid`` naming the file and what is wrong (unknown
    ///   fields are errors too, so a typo never silently widens a read model).
    public static func load(path: String) throws -> Projection {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProjectionError.invalid("\(path): cannot read the file")
        }
        do {
            return try Projection(json: try JSONParser.parse([UInt8](data)))
        } catch let e as JSONSyntaxError {
            throw ProjectionError.invalid("\(path): \(e.description)")
        } catch ProjectionError.invalid(let m) {
            throw ProjectionError.invalid("\(path): \(m)")
        }
    }

    /// Reads a projection from parsed JSON.
    public init(json: JSONValue) throws {
        guard case .object(let root) = json else { throw ProjectionError.invalid("the top level must be an object") }
        for (k, _) in root where k != "tables" { throw ProjectionError.invalid("unknown field \"\(k)\" (expected \"tables\")") }
        guard case .object(let tableMembers)? = json["tables"] else { throw ProjectionError.invalid("\"tables\" must be an object of table rules") }
        guard !tableMembers.isEmpty else { throw ProjectionError.invalid("\"tables\" is empty; a read model needs at least one table") }
        var rules: [String: TableRule] = [:]
        var targets = Set<String>()
        for (name, value) in tableMembers {
            let rule = try Self.tableRule(source: name, json: value)
            guard targets.insert(rule.target.lowercased()).inserted else {
                throw ProjectionError.invalid("two tables map to \(rule.target)")
            }
            rules[name] = rule
        }
        self.init(tables: rules)
    }

    private static func tableRule(source: String, json: JSONValue) throws -> TableRule {
        guard case .object(let members) = json else { throw ProjectionError.invalid("tables.\(source) must be an object") }
        var rule = TableRule(source: source)
        for (k, v) in members {
            switch k {
            case "as":
                guard case .string(let s) = v, !s.isEmpty else { throw ProjectionError.invalid("tables.\(source).as must be a non-empty string") }
                let lower = s.lowercased()
                guard !lower.hasPrefix("sqlite_"), !lower.hasPrefix("_cdc_") else {
                    throw ProjectionError.invalid("tables.\(source).as: \(s) is reserved (names starting with sqlite_ belong to SQLite, _cdc_ to the sink)")
                }
                rule.target = s
            case "columns":
                guard case .array(let items) = v, !items.isEmpty else { throw ProjectionError.invalid("tables.\(source).columns must be a non-empty array") }
                rule.columns = try items.enumerated().map { i, item in
                    switch item {
                    case .string(let s): return ColumnRule(source: s)
                    case .object(let o):
                        for (ck, _) in o where ck != "name" && ck != "as" {
                            throw ProjectionError.invalid("tables.\(source).columns[\(i)]: unknown field \"\(ck)\"")
                        }
                        guard case .string(let n)? = item["name"] else { throw ProjectionError.invalid("tables.\(source).columns[\(i)].name must be a string") }
                        var target = n
                        if let a = item["as"] {
                            guard case .string(let s) = a, !s.isEmpty else { throw ProjectionError.invalid("tables.\(source).columns[\(i)].as must be a non-empty string") }
                            target = s
                        }
                        return ColumnRule(source: n, target: target)
                    default:
                        throw ProjectionError.invalid("tables.\(source).columns[\(i)] must be a column name or {\"name\":…,\"as\":…}")
                    }
                }
            case "where":
                rule.filter = try rowFilter(json: v, path: "tables.\(source).where")
            default:
                throw ProjectionError.invalid("tables.\(source): unknown field \"\(k)\" (expected as, columns, where)")
            }
        }
        return rule
    }

    private static func rowFilter(json: JSONValue, path: String) throws -> RowFilter {
        guard case .object(let members) = json else { throw ProjectionError.invalid("\(path) must be an object") }
        for (k, _) in members where !["column", "op", "value", "values"].contains(k) {
            throw ProjectionError.invalid("\(path): unknown field \"\(k)\"")
        }
        guard case .string(let column)? = json["column"] else { throw ProjectionError.invalid("\(path).column must be a string") }
        guard case .string(let opName)? = json["op"], let op = RowFilter.Op(rawValue: opName.lowercased()) else {
            throw ProjectionError.invalid("\(path).op must be one of \(RowFilter.Op.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func value(_ j: JSONValue) throws -> SQLiteValue {
            do { return try SQLiteValue(json: j) } catch let e as ValueDecodingError {
                throw ProjectionError.invalid("\(path).value: \(e.reason)")
            }
        }
        let allowed: String?
        switch op {
        case .isNull, .isNotNull: allowed = nil
        case .isIn: allowed = "values"
        default: allowed = "value"
        }
        for extra in ["value", "values"] where extra != allowed && json[extra] != nil {
            throw ProjectionError.invalid("\(path).\(extra) does not belong with op \(op.rawValue)\(allowed.map { " (it takes \"\($0)\")" } ?? " (it takes no operand)")")
        }
        switch op {
        case .isNull, .isNotNull:
            return RowFilter(column: column, op: op, values: [])
        case .isIn:
            guard case .array(let items)? = json["values"] else { throw ProjectionError.invalid("\(path).values must be an array for op in") }
            return RowFilter(column: column, op: op, values: try items.map(value))
        default:
            guard let v = json["value"] else { throw ProjectionError.invalid("\(path).value is missing") }
            return RowFilter(column: column, op: op, values: [try value(v)])
        }
    }
}
