import CDCCore

/// How a row's key is printed: the JSON object of the events' `key` field (docs/events.md),
/// its fields named as the source key, its values in the spec's JSON value form, so the
/// storage class shows (`{"id":1}` is an integer key, `{"id":1.0}` a real one,
/// `{"id":{"$blob":"AQ=="}}` a blob).
///
/// Keys identify rows and are printed; other column values never are (they may be personal
/// data).
public enum SampleKeyFormat {
    /// Writes the key object to a JSON writer.
    /// - Parameters:
    ///   - key: the key values, in key order.
    ///   - names: the key field names, aligned with `key` (extra values are named by position).
    public static func write(_ key: [SQLiteValue], names: [String], to w: inout JSONWriter) {
        w.beginObject()
        for (i, value) in key.enumerated() {
            w.key(i < names.count ? names[i] : "#\(i + 1)")
            value.write(to: &w)
        }
        w.endObject()
    }

    /// The key object as compact JSON text.
    /// - Complexity: O(total length of the key values).
    public static func text(_ key: [SQLiteValue], names: [String]) -> String {
        var w = JSONWriter(reservingCapacity: 64)
        write(key, names: names, to: &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
