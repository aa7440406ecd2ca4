import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// One row of `_cdc_changes`, as the triggers wrote it.
struct ChangeRow {
    var seq: Int64
    var tableID: Int64
    var generation: Int64
    var operation: ChangeTableLayout.OperationCode
    var timestampMilliseconds: Int64
    /// The old rowid (updates of tables keyed by rowid), else NULL.
    var oldRowID: SQLiteValue
    /// The rowid (new for insert and update, old for delete) of tables keyed by rowid.
    var rowID: SQLiteValue
    /// `b0…b(N-1)`, where N is the change table's width.
    var before: [SQLiteValue]
    /// `a0…a(N-1)`.
    var after: [SQLiteValue]
}

extension ChangeRow {
    /// A stable 63-bit fingerprint of the row (FNV-1a over its values' JSON forms): the log
    /// keeps the one of the last row a batch consumed, so a restart can tell that row from
    /// another row that got the same `seq` in a source restored from a backup.
    var fingerprint: Int64 {
        var w = JSONWriter()
        w.beginArray()
        for v in [.integer(seq), .integer(tableID), .integer(generation), .integer(operation.rawValue), .integer(timestampMilliseconds), oldRowID, rowID] + before + after {
            v.write(to: &w)
        }
        w.endArray()
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in w.bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return Int64(bitPattern: hash >> 1)
    }
}

/// A row change before it gets an LSN and its place in a group.
struct PendingChange {
    var table: TableSchema
    var operation: CDCCore.Operation
    var key: [SQLiteValue]
    var before: [SQLiteValue]?
    var after: [SQLiteValue]?
    var timestampMilliseconds: Int64
}

extension ChangeTableCapture {
    /// Reads, appends and deletes one batch of change rows.
    /// - Returns: events appended, and whether more rows were waiting beyond the batch.
    func captureBatch() throws -> (appended: Int, more: Bool) {
        let (rows, changes, more) = try withConsistentRead { () -> ([ChangeRow], [PendingChange], Bool) in
            var rows = try readChangeRows(after: consumedSeq, through: nil, limit: batchSize + 1)
            if let reason = try continuityLoss(firstRow: rows.first) {
                logger.warning("\(sourcePath): \(reason); continuity is lost, running a resync snapshot epoch")
                pendingSnapshot = PendingSnapshot(tableIDs: nil, reason: "resync")
                openGroup = nil
                return ([], [], true)
            }
            let more = rows.count > batchSize
            if more { rows.removeLast(rows.count - batchSize) }
            var changes: [PendingChange] = []
            changes.reserveCapacity(rows.count)
            for row in rows { changes += try pendingChanges(for: row) }
            return (rows, changes, more)
        }
        guard let lastSeq = rows.last?.seq else { return (0, more) }
        var events: [Event] = []
        var nextLSN = try log.lastLSN().rawValue + 1
        for change in changes { events.append(makeChangeEvent(change, lsn: &nextLSN, group: &openGroup)) }
        // A batch cut by the batch size may end inside a source transaction: the group stays
        // open and continues in the next batch. Otherwise the read ended at a transaction
        // boundary (snapshot isolation), so the group closes here.
        if !more { closeGroup(in: &events) }
        try log.append(events, state: stateForLog(changeSeq: lastSeq, appending: events.count, lastRowFingerprint: rows.last?.fingerprint ?? 0))
        if openGroup != nil { FaultPoint.reached(FaultPoint.transactionBatch) }
        FaultPoint.reached(FaultPoint.changeTableDelete)
        consumedSeq = lastSeq
        try deleteConsumedRows()
        return (events.count, more)
    }

    /// The highest `seq` ever assigned in `_cdc_changes` (0 before the first change).
    ///
    /// The agent keeps the highest consumed row (``deleteConsumedRows()``), so the table's
    /// largest `seq` is the highest ever assigned; a table installed by an earlier build with
    /// AUTOINCREMENT also has its `sqlite_sequence` row, and the larger of the two counts.
    func assignedChangeSequence() throws -> Int64 {
        var assigned: Int64 = 0
        if case .integer(let v)? = try connection.scalar("SELECT max(seq) FROM \(ChangeTableLayout.changeTable)") { assigned = v }
        if try connection.tableExists("sqlite_sequence"),
           case .integer(let v)? = try connection.scalar("SELECT seq FROM sqlite_sequence WHERE name = ?", [.string(ChangeTableLayout.changeTable)]) {
            assigned = max(assigned, v)
        }
        return assigned
    }

    /// Why the change table no longer continues from the consumed position, or `nil` when it
    /// does. Committed rows get consecutive `seq`s (largest rowid + 1, and the highest row is
    /// never deleted; a rolled-back insert leaves no row), so the next row must be `consumed + 1`;
    /// anything else means rows were taken by someone else (another agent with another log)
    /// or the database went back in time (restored from a backup). Called inside the read.
    func continuityLoss(firstRow: ChangeRow?) throws -> String? {
        let assigned = try assignedChangeSequence()
        if assigned < consumedSeq {
            return "the change table's sequence is at \(assigned), behind the consumed position \(consumedSeq) (was the database restored from a backup?)"
        }
        if let first = firstRow, first.seq != consumedSeq + 1 {
            return "change rows \(consumedSeq + 1)...\(first.seq - 1) are missing (did another agent consume them into another log?)"
        }
        if firstRow == nil, assigned > consumedSeq {
            return "change rows \(consumedSeq + 1)...\(assigned) are missing (did another agent consume them into another log?)"
        }
        return nil
    }

    /// The fingerprint of the change row `seq`, or 0 when there is none.
    func fingerprintOfChangeRow(_ seq: Int64) throws -> Int64 {
        try readChangeRows(after: seq - 1, through: seq, limit: 1).first?.fingerprint ?? 0
    }

    /// Reads change rows with `seq > after` (and `<= through`), in `seq` order.
    func readChangeRows(after: Int64, through: Int64?, limit: Int) throws -> [ChangeRow] {
        let width = meta.width
        let statement: Statement
        if let cached = changeRowStatement, cached.width == width {
            statement = cached.statement
        } else {
            var columns = ["seq", "tbl", "gen", "op", "ts_jd", "rk_old", "rk"]
            columns += (0..<width).map(ChangeTableLayout.beforeColumn)
            columns += (0..<width).map(ChangeTableLayout.afterColumn)
            statement = try connection.prepare("""
                SELECT \(columns.joined(separator: ", ")) FROM \(ChangeTableLayout.changeTable)
                WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3
                """)
            changeRowStatement = (width, statement)
        }
        try statement.bind([.integer(after), .integer(through ?? Int64.max), .integer(Int64(limit))])
        defer { statement.reset() }
        var rows: [ChangeRow] = []
        while try statement.step() {
            guard case .integer(let seq) = statement.value(at: 0) else {
                throw CaptureError.malformedChangeRow(path: sourcePath, seq: 0, reason: "seq is not an integer")
            }
            guard case .integer(let tbl) = statement.value(at: 1), case .integer(let gen) = statement.value(at: 2),
                  case .integer(let opCode) = statement.value(at: 3), let op = ChangeTableLayout.OperationCode(rawValue: opCode),
                  case .real(let julianDay) = statement.value(at: 4) else {
                throw CaptureError.malformedChangeRow(path: sourcePath, seq: seq, reason: "tbl, gen, op or ts_jd is not as the triggers write it")
            }
            let ts = ChangeTableLayout.millisecondsSince1970(julianDay: julianDay)
            let base = 7
            rows.append(ChangeRow(
                seq: seq, tableID: tbl, generation: gen, operation: op, timestampMilliseconds: ts,
                oldRowID: statement.value(at: 5), rowID: statement.value(at: 6),
                before: (0..<width).map { statement.value(at: base + $0) },
                after: (0..<width).map { statement.value(at: base + width + $0) }))
        }
        return rows
    }

    /// Turns one change row into row changes (one, or two for a rowid move), completing
    /// images recorded by an older trigger generation (inside the caller's read transaction).
    func pendingChanges(for row: ChangeRow) throws -> [PendingChange] {
        guard let schema = schemas[row.tableID], let record = meta.tables[row.tableID] else {
            if warnedUnknownTables.insert(row.tableID).inserted {
                logger.warning("\(sourcePath): skipping change rows of table id \(row.tableID): it is no longer captured (dropped, or left out of --tables)")
            }
            return []
        }
        let count = schema.columns.count
        let recorded = record.columnCountByGeneration[row.generation] ?? count
        var before: [SQLiteValue]?
        var after: [SQLiteValue]?
        switch row.operation {
        case .insert: after = Array(row.after.prefix(min(recorded, count)))
        case .delete: before = Array(row.before.prefix(min(recorded, count)))
        case .update:
            after = Array(row.after.prefix(min(recorded, count)))
            before = Array(row.before.prefix(min(recorded, count)))
        }
        if recorded < count {
            // Recorded by triggers of an older generation, before the rebuild that followed
            // an ALTER TABLE ADD COLUMN: complete the missing (trailing) columns.
            if after != nil { after = try completeAfterImage(after ?? [], schema: schema, rowID: row.rowID) }
            if before != nil { before = try completeWithDefaults(before ?? [], schema: schema) }
        } else if recorded > count {
            throw CaptureError.malformedChangeRow(path: sourcePath, seq: row.seq, reason: "it records \(recorded) columns of \(quoteIdentifier(schema.name)), which now has \(count)")
        }
        let ts = row.timestampMilliseconds
        if schema.hasRowIDKey {
            switch row.operation {
            case .insert: return [PendingChange(table: schema, operation: .insert, key: [row.rowID], before: nil, after: after, timestampMilliseconds: ts)]
            case .delete: return [PendingChange(table: schema, operation: .delete, key: [row.rowID], before: before, after: nil, timestampMilliseconds: ts)]
            case .update:
                if row.oldRowID == row.rowID {
                    return [PendingChange(table: schema, operation: .update, key: [row.rowID], before: before, after: after, timestampMilliseconds: ts)]
                }
                // The rowid is not part of the images, so a rowid change is told as the delete
                // of the old key and the insert of the new one.
                return [
                    PendingChange(table: schema, operation: .delete, key: [row.oldRowID], before: before, after: nil, timestampMilliseconds: ts),
                    PendingChange(table: schema, operation: .insert, key: [row.rowID], before: nil, after: after, timestampMilliseconds: ts),
                ]
            }
        }
        let keyIndices = schema.keyColumnIndices
        let keyImage = (row.operation == .insert ? after : before) ?? []
        let key = keyIndices.map { keyImage[$0] }
        let op: CDCCore.Operation = row.operation == .insert ? .insert : (row.operation == .update ? .update : .delete)
        return [PendingChange(table: schema, operation: op, key: key, before: before, after: after, timestampMilliseconds: ts)]
    }

    /// Fills an after image's missing trailing columns from the row as it is now (same read
    /// transaction); when the row is gone (a later change in the stream deleted or moved
    /// it), from the columns' defaults, with a warning.
    func completeAfterImage(_ image: [SQLiteValue], schema: TableSchema, rowID: SQLiteValue) throws -> [SQLiteValue] {
        let columns = schema.columns.map { quoteIdentifier($0.name) }.joined(separator: ", ")
        let condition: String
        let parameters: [SQLiteValue]
        if schema.hasRowIDKey, let alias = schema.rowIDKeyName {
            condition = "\(alias) = ?"
            parameters = [rowID]
        } else {
            let indices = schema.keyColumnIndices
            condition = indices.map { "\(quoteIdentifier(schema.columns[$0].name)) IS ?" }.joined(separator: " AND ")
            parameters = indices.map { image[$0] }
        }
        if let current = try connection.query("SELECT \(columns) FROM \(quoteIdentifier(schema.name)) WHERE \(condition)", parameters).first {
            return image + current[image.count...]
        }
        logger.warning("\(sourcePath): a change of \(quoteIdentifier(schema.name)) recorded before its triggers were rebuilt names a row that no longer exists; its new columns carry their defaults (a later event of the same stream removes the row)")
        return try completeWithDefaults(image, schema: schema)
    }

    /// Fills an image's missing trailing columns with the columns' DEFAULT values (the
    /// value `ALTER TABLE ADD COLUMN` gives rows that existed before it).
    func completeWithDefaults(_ image: [SQLiteValue], schema: TableSchema) throws -> [SQLiteValue] {
        var out = image
        for column in schema.columns[image.count...] {
            out.append(try defaultValue(of: column, in: schema))
        }
        return out
    }

    /// The value of a column's DEFAULT clause (NULL without one); ADD COLUMN allows only
    /// constant defaults, so evaluating it alone is exact.
    func defaultValue(of column: ColumnSchema, in schema: TableSchema) throws -> SQLiteValue {
        guard let sql = column.defaultSQL else { return .null }
        let cacheKey = "\(schema.name)\u{0}\(schema.version)\u{0}\(column.name)"
        if let v = defaultValues[cacheKey] { return v }
        let value: SQLiteValue
        do {
            value = try connection.scalar("SELECT \(sql)") ?? .null
        } catch {
            logger.warning("\(sourcePath): cannot evaluate the DEFAULT of \(quoteIdentifier(schema.name)).\(quoteIdentifier(column.name)) alone (\(error)); using NULL")
            value = .null
        }
        defaultValues[cacheKey] = value
        return value
    }

    /// Makes a change event with the next LSN, in the open group (opening one if needed).
    func makeChangeEvent(_ change: PendingChange, lsn: inout Int64, group: inout OpenGroup?) -> Event {
        let g = group ?? OpenGroup(id: lsn, nextIndex: 0)
        let rowChange = RowChange(
            transaction: TransactionInfo(id: g.id, index: g.nextIndex, isLast: false),
            table: change.table, operation: change.operation, key: change.key,
            before: change.before, after: change.after)
        group = OpenGroup(id: g.id, nextIndex: g.nextIndex + 1)
        let event = Event(lsn: LSN(lsn), source: source, timestampMilliseconds: change.timestampMilliseconds, body: .change(rowChange))
        lsn += 1
        return event
    }

    /// Marks the last event of `events` as the end of the open group, and closes it.
    func closeGroup(in events: inout [Event]) {
        guard let i = events.indices.last, case .change(var c) = events[i].body else { return }
        c.transaction.isLast = true
        events[i].body = .change(c)
        openGroup = nil
    }
}
