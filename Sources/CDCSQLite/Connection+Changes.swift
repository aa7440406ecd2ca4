import CSQLite

extension Connection {
    /// The number of rows the most recent INSERT, UPDATE or DELETE on this connection
    /// changed (`sqlite3_changes64`); an upsert whose DO UPDATE … WHERE is false changes 0.
    /// Source: https://www.sqlite.org/c3ref/changes.html
    public var changedRowCount: Int64 {
        (try? withHandle { sqlite3_changes64($0) }) ?? 0
    }
}
