import CDCCore

/// Why `cdc-agent resnapshot` refused a request; each message says what to do. Key values
/// stay out of the messages (they may be personal data): a key is named by its position.
public enum ResnapshotError: Error, Sendable, CustomStringConvertible, Equatable {
    /// No `--table` was given.
    case noTable
    /// The source has no table of that name (or, in change-table mode, does not capture it).
    case unknownTable(name: String, path: String, known: [String])
    /// The table exists but the triggers do not capture it.
    case notCaptured(name: String, path: String)
    /// `--keys` was given with more or fewer than one `--table`.
    case keysNeedOneTable(count: Int)
    /// A `--keys` value is not JSON, or not a value of the event format.
    case malformedKey(position: Int, reason: String)
    /// A `--keys` value does not have the table's key shape.
    case wrongKeyShape(position: Int, table: String, keyNames: [String], reason: String)
    /// The event log does not exist.
    case noLog(path: String)
    /// The log belongs to another source database.
    case logOfAnotherSource(logPath: String, expected: String, found: String)
    /// `--wait` ran out of time; the request stays recorded and is served when an agent runs.
    case notServed(requestID: Int64, waitedMilliseconds: Int64)

    public var description: String {
        switch self {
        case .noTable:
            return "give the table to re-snapshot with --table NAME (repeat it for several tables)"
        case .unknownTable(let name, let path, let known):
            let list = known.prefix(8).joined(separator: ", ") + (known.count > 8 ? ", …" : "")
            return "\(path) has no table \(name); give one of its tables with --table (\(known.isEmpty ? "it has none" : list))"
        case .notCaptured(let name, let path):
            return "\(path): table \(name) is not captured by the change-table triggers; run `cdc-agent install --db \(path)` with it in --tables first"
        case .keysNeedOneTable(let count):
            return "--keys needs exactly one --table (got \(count)); make one request per table"
        case .malformedKey(let position, let reason):
            return "--keys value \(position) is not a key: \(reason); give the key as JSON as it appears in events, e.g. --keys 7, --keys '\"abc\"' or --keys '{\"order_id\":7,\"line\":2}'"
        case .wrongKeyShape(let position, let table, let keyNames, let reason):
            return "--keys value \(position) does not fit the key of \(table) (\(keyNames.joined(separator: ", "))): \(reason); give \(keyNames.count == 1 ? "one JSON value or {\"\(keyNames[0])\": …}" : "a JSON object naming each key column, or an array of \(keyNames.count) values in key order")"
        case .noLog(let path):
            return "no event log at \(path); give the --log that `cdc-agent run` writes for this database (run the agent once to create it)"
        case .logOfAnotherSource(let logPath, let expected, let found):
            return "\(logPath) is the event log of \(found), not of \(expected); give the log that cdc-agent run writes for this database"
        case .notServed(let id, let waited):
            return "snapshot request \(id) was not served within \(waited) ms; it stays recorded and the agent serves it when it runs (is `cdc-agent run` running for this database?)"
        }
    }
}

extension ResnapshotError {
    /// Whether the error is the work's failure (exit 1) rather than bad input (exit 2).
    public var isWorkFailure: Bool {
        if case .notServed = self { return true }
        return false
    }
}
