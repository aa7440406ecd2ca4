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
    /// - Complexity: O(rows of the covered tables); memory O(page of keys), see
    ///   ``removeStaleRows(keyNames:of:source:olderThan:)``.
    func finishEpoch(_ epoch: SnapshotEpoch) throws -> Int {
        let sources = epoch.tables.isEmpty ? metadata.knownTables : epoch.tables
        var removed = 0
        for source in sources {
            guard let rule = projection.rule(for: source), !Self.isReserved(rule.target) else { continue }
            try metadata.record(table: source, floor: epoch.epoch)
            var staleCount = 0
            if try connection.tableExists(rule.target) {
                let keyNames = try connection.tableSchema(rule.target).keyNames
                guard !keyNames.isEmpty else { throw SinkError.noAddressableKey(table: rule.target) }
                staleCount = try removeStaleRows(keyNames: keyNames, of: rule.target, source: source, olderThan: epoch.epoch)
            }
            let versions = try metadata.dropVersions(table: source, olderThan: epoch.epoch)
            removed += staleCount
            logger.info("snapshot epoch \(epoch.epoch) ended for table \(quoteIdentifier(source)): removed \(staleCount) row(s) it did not contain, \(versions) old version row(s)")
        }
        return removed
    }

    /// Deletes the read-model rows whose stored version is older than `epoch` or missing,
    /// a page of keys at a time in key order (row-value comparison,
    /// https://www.sqlite.org/rowvalue.html), so memory stays bounded by the page however
    /// large the table is; a page's deletions lie behind the next page's start.
    /// - Returns: the number of rows removed.
    private func removeStaleRows(keyNames: [String], of target: String, source: String, olderThan epoch: LSN) throws -> Int {
        let columns = keyNames.map(quoteIdentifier).joined(separator: ", ")
        let placeholders = keyNames.map { _ in "?" }.joined(separator: ", ")
        let pageSize = 10_000
        let firstPage = try connection.prepare("SELECT \(columns) FROM \(quoteIdentifier(target)) ORDER BY \(columns) LIMIT \(pageSize)")
        let nextPage = try connection.prepare("SELECT \(columns) FROM \(quoteIdentifier(target)) WHERE (\(columns)) > (\(placeholders)) ORDER BY \(columns) LIMIT \(pageSize)")
        let condition = keyNames.map { "\(quoteIdentifier($0)) IS ?" }.joined(separator: " AND ")
        let delete = try connection.prepare("DELETE FROM \(quoteIdentifier(target)) WHERE \(condition)")
        var after: [SQLiteValue]?
        var removed = 0
        while true {
            let scan = after == nil ? firstPage : nextPage
            try scan.bind(after ?? [])
            var page: [[SQLiteValue]] = []
            while try scan.step() { page.append(scan.row()) }
            scan.reset()
            guard let last = page.last else { break }
            for key in page {
                if let version = try metadata.version(table: source, key: RowKey(key)), version >= epoch { continue }
                try delete.run(key)
                removed += 1
            }
            if page.count < pageSize { break }
            after = last
        }
        return removed
    }
}
