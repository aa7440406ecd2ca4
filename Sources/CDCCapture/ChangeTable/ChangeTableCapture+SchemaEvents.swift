import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// Schema events in change-table mode: a captured table renamed or dropped is announced in the
/// log, as WAL capture announces it, so that a sink renames or drops its read-model table
/// instead of keeping a dropped table's rows or starting an empty table under the new name.
///
/// The schema check (``refreshSchemaIfChanged(force:)``) finds the change inside its write
/// transaction on `_cdc_meta` and records it there (key `announce`), in the same transaction
/// as the new table record; the capture loop appends it to the log before any change row it
/// reads next. A crash between the append and the clearing of the key announces it again, which
/// sinks ignore (a rename of the same version, a drop of a table they no longer have).
extension ChangeTableCapture {
    /// The `_cdc_meta` key holding changes found but not yet in the log.
    static let announceKey = "announce"

    /// One change waiting in `_cdc_meta`, stored as JSON: `{"kind", "table", "previous",
    /// "version", "schema"}` with `schema` the schema object's JSON text.
    struct PendingAnnouncement {
        var kind: SchemaChange.Kind
        var table: String
        var previous: String
        var schema: TableSchema
    }

    /// Reads the waiting announcements (inside the caller's transaction, or alone).
    /// Unreadable text gives none: an announcement is a courtesy to sinks, never a reason to
    /// stop capture (docs/change-table-capture.md says what a sink misses without it).
    func pendingAnnouncements() throws -> [PendingAnnouncement] {
        guard let text = try connection.scalar("SELECT value FROM \(ChangeTableLayout.metaTable) WHERE key = ?", [.string(Self.announceKey)])?.stringValue,
              let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return [] }
        return list.compactMap { item in
            guard let kind = (item["kind"] as? String).flatMap(SchemaChange.Kind.init(rawValue:)),
                  let table = item["table"] as? String, let previous = item["previous"] as? String,
                  let version = (item["version"] as? NSNumber)?.int64Value, let schemaText = item["schema"] as? String,
                  var schema = try? TableSchema(schemaJSON: schemaText, name: kind == .drop ? previous : table) else { return nil }
            schema.version = version
            return PendingAnnouncement(kind: kind, table: table, previous: previous, schema: schema)
        }
    }

    /// Replaces the waiting announcements (inside the caller's write transaction).
    func storeAnnouncements(_ list: [PendingAnnouncement]) throws {
        guard !list.isEmpty else {
            try connection.execute("DELETE FROM \(ChangeTableLayout.metaTable) WHERE key = ?", [.string(Self.announceKey)])
            return
        }
        let items: [[String: Any]] = list.map {
            ["kind": $0.kind.rawValue, "table": $0.table, "previous": $0.previous,
             "version": NSNumber(value: $0.schema.version), "schema": ChangeTableLayout.shapeText(of: $0.schema)]
        }
        let data = try JSONSerialization.data(withJSONObject: items, options: [.sortedKeys])
        try connection.execute("INSERT OR REPLACE INTO \(ChangeTableLayout.metaTable)(key, value) VALUES (?, ?)",
                               [.string(Self.announceKey), .string(String(decoding: data, as: UTF8.self))])
    }

    /// Appends the waiting announcements to the log with the agent state (as a heartbeat is:
    /// same change sequence, `state_lsn` after them), then clears them and moves the source's
    /// `last_lsn` in one write transaction.
    ///
    /// While a snapshot epoch of every table is pending (initial or resync), a rename is turned
    /// into a drop of the old name and waits for the epoch's end: the epoch sends the renamed
    /// table's rows under its new name, and the drop then removes the old read-model table.
    /// - Returns: the events appended.
    /// - Throws: ``SQLiteError`` (busy included), ``EventLogError``.
    func announceSchemaChanges() throws -> Int {
        guard isStarted, announcementsPending else { return 0 }
        var list = try pendingAnnouncements()
        guard !list.isEmpty else { announcementsPending = false; return 0 }
        if let p = pendingSnapshot, p.tableIDs == nil {
            guard list.contains(where: { $0.kind == .rename }) else { return 0 }
            list = list.map { $0.kind == .rename ? PendingAnnouncement(kind: .drop, table: $0.previous, previous: $0.previous, schema: $0.schema) : $0 }
            try connection.transaction(.immediate) { try storeAnnouncements(list) }
            return 0
        }
        var lsn = try log.lastLSN()
        let now = EventLog.nowMilliseconds()
        let events = list.map { a -> Event in
            lsn = lsn.next
            let change = SchemaChange(table: a.table, kind: a.kind, previousName: a.previous, schema: a.schema)
            return Event(lsn: lsn, source: source, timestampMilliseconds: now, body: .schema(change))
        }
        try log.append(events, state: stateForLog(changeSeq: consumedSeq, appending: events.count, lastRowFingerprint: try fingerprintOfChangeRow(consumedSeq)))
        try connection.transaction(.immediate) {
            try storeAnnouncements([])
            try connection.execute("INSERT OR REPLACE INTO \(ChangeTableLayout.metaTable)(key, value) VALUES ('last_lsn', ?)", [.integer(lsn.rawValue)])
        }
        announcementsPending = false
        for a in list {
            logger.info("\(sourcePath): announced \(a.kind.rawValue) of \(quoteIdentifier(a.previous))\(a.kind == .rename ? " to \(quoteIdentifier(a.table))" : ""), schema version \(a.schema.version)")
        }
        return events.count
    }
}
