import CDCCore
import Foundation

/// Schema versions per table for WAL capture, kept in the event log's agent state (WAL mode
/// never writes to the source, so it cannot keep them in `_cdc_meta` as the triggers do).
///
/// A table's version starts at 1 and grows by one each time its shape (columns, declared
/// types, key, WITHOUT ROWID; ``ChangeTableLayout/shapeText(of:)``) differs from the shape
/// recorded for its name.
struct WALSchemaVersions {
    private(set) var entries: [String: (version: Int64, shape: String)] = [:] {
        didSet { stateText = Self.encode(entries) }
    }
    /// The state value: a JSON object `{table: [version, shape]}`. Kept encoded: it is stored
    /// with every append, and changes only with a schema.
    private(set) var stateText = "{}"

    /// Stamps `schema` with its version, recording a new version when its shape changed.
    /// - Returns: whether the version is new (the table is new or its shape changed).
    @discardableResult
    mutating func stamp(_ schema: inout TableSchema) -> Bool {
        let shape = ChangeTableLayout.shapeText(of: schema)
        if let known = entries[schema.name] {
            if known.shape == shape { schema.version = known.version; return false }
            schema.version = known.version + 1
        } else {
            schema.version = 1
        }
        entries[schema.name] = (schema.version, shape)
        return true
    }

    /// Gives `schema` a version above `version` (the newest one consumers have seen, when
    /// the stored versions were lost or are behind the log) and records it.
    mutating func raise(_ schema: inout TableSchema, above version: Int64) {
        schema.version = max(schema.version, version + 1)
        entries[schema.name] = (schema.version, ChangeTableLayout.shapeText(of: schema))
    }

    /// Moves a renamed table's versions to its new name, one version up (a rename is a
    /// schema change: the table's name is part of what consumers address).
    mutating func rename(from old: String, to new: String, schema: inout TableSchema) {
        let previous = entries.removeValue(forKey: old)?.version ?? 0
        schema.version = previous + 1
        entries[new] = (schema.version, ChangeTableLayout.shapeText(of: schema))
    }

    private static func encode(_ entries: [String: (version: Int64, shape: String)]) -> String {
        let object = entries.mapValues { [NSNumber(value: $0.version), $0.shape] as [Any] }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads ``stateText``; unreadable text gives no versions (every table restarts at 1,
    /// which only makes consumers see one more schema change).
    init(stateText: String?) {
        guard let text = stateText, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [Any]] else { return }
        for (name, pair) in object {
            guard pair.count == 2, let v = (pair[0] as? NSNumber)?.int64Value, let shape = pair[1] as? String else { continue }
            entries[name] = (v, shape)
        }
        // Observers do not run in a struct's own initializer.
        self.stateText = Self.encode(entries)
    }
}
