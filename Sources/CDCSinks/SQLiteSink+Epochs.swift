import CDCCore
import CDCSQLite

extension SQLiteSink {
    /// Ends a snapshot epoch: for each table it covers, raises the table's floor to the
    /// epoch (events at or below it are reflected by the epoch and skipped from now on),
    /// deletes the read-model rows whose version is older than the epoch or unknown (rows
    /// the epoch did not contain and no newer change touched), and drops the version rows
    /// older than the epoch, which the floor now stands for.
    ///
    /// An epoch that lists no tables covers every table the replica knows.
    ///
    /// - Returns: the number of read-model rows removed.
    /// - Complexity: O(rows of the covered tables); the stale keys of one table are held in
    ///   memory until deleted.
    func finishEpoch(_ epoch: SnapshotEpoch) throws -> Int {
        let sources = epoch.tables.isEmpty ? metadata.knownTables : epoch.tables
        var removed = 0
        for source in sources {
            guard let rule = projection.rule(for: source), !Self.isReserved(rule.target) else { continue }
            try metadata.record(table: source, floor: epoch.epoch)
            var staleKeys: [[SQLiteValue]] = []
            if try connection.tableExists(rule.target) {
                let keyNames = try connection.tableSchema(rule.target).keyNames
                guard !keyNames.isEmpty else { throw SinkError.noAddressableKey(table: rule.target) }
                staleKeys = try keys(named: keyNames, of: rule.target, source: source, olderThan: epoch.epoch)
                let condition = keyNames.map { "\(quoteIdentifier($0)) IS ?" }.joined(separator: " AND ")
                let delete = try connection.prepare("DELETE FROM \(quoteIdentifier(rule.target)) WHERE \(condition)")
                for key in staleKeys { try delete.run(key) }
            }
            let versions = try metadata.dropVersions(table: source, olderThan: epoch.epoch)
            removed += staleKeys.count
            logger.info("snapshot epoch \(epoch.epoch) ended for table \(quoteIdentifier(source)): removed \(staleKeys.count) row(s) it did not contain, \(versions) old version row(s)")
        }
        return removed
    }

    /// Keys of read-model rows whose stored version is older than `epoch` or missing.
    private func keys(named keyNames: [String], of target: String, source: String, olderThan epoch: LSN) throws -> [[SQLiteValue]] {
        let scan = try connection.prepare("SELECT \(keyNames.map(quoteIdentifier).joined(separator: ", ")) FROM \(quoteIdentifier(target))")
        var stale: [[SQLiteValue]] = []
        while try scan.step() {
            let key = scan.row()
            if let version = try metadata.version(table: source, key: RowKey(key)), version >= epoch { continue }
            stale.append(key)
        }
        return stale
    }
}
