import CDCCore

extension CheckReport {
    /// The report as text for a terminal or as one JSON object.
    ///
    /// Human form: a one-screen summary — verdict, positions and lag, one line per table
    /// with its counts, and the sample keys of diverged tables. JSON form: one object with a
    /// stable field order (see docs/replica-check.md), no trailing newline. Neither prints
    /// row values; keys are printed in their JSON form (``SampleKeyFormat``).
    /// - Parameter json: `true` for the JSON object, `false` for the text summary.
    /// - Complexity: O(tables × sample keys).
    public func render(json: Bool) -> String {
        json ? renderJSON() : renderText()
    }

    // MARK: - JSON

    private func renderJSON() -> String {
        var w = JSONWriter(reservingCapacity: 1024)
        w.beginObject()
        w.key("consistent"); w.bool(isConsistent)
        w.key("source")
        w.beginObject()
        w.key("path"); w.string(sourcePath)
        w.key("lsn"); optional(sourceLSN?.rawValue, &w)
        w.endObject()
        w.key("replica")
        w.beginObject()
        w.key("path"); w.string(replicaPath)
        w.key("applied_lsn"); optional(appliedLSN?.rawValue, &w)
        w.endObject()
        w.key("lag")
        w.beginObject()
        w.key("lsn"); optional(lagLSN, &w)
        w.key("pending_changes"); optional(pendingChangeCount, &w)
        w.endObject()
        w.key("totals")
        w.beginObject()
        w.key("tables"); w.integer(tables.count)
        w.key("diverged_tables"); w.integer(divergedTables.count)
        w.key("missing"); w.integer(missingCount)
        w.key("extra"); w.integer(extraCount)
        w.key("differing"); w.integer(differingCount)
        w.endObject()
        w.key("max_keys"); w.integer(maximumSampleKeys)
        w.key("tables")
        w.beginArray()
        for table in tables { write(table, to: &w) }
        w.endArray()
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    private func write(_ table: TableReport, to w: inout JSONWriter) {
        w.beginObject()
        w.key("source"); w.string(table.sourceTable)
        w.key("replica"); w.string(table.replicaTable)
        w.key("consistent"); w.bool(table.isConsistent)
        w.key("key")
        w.beginArray()
        for name in table.keyNames { w.string(name) }
        w.endArray()
        w.key("source_rows"); w.integer(table.sourceRowCount)
        w.key("replica_rows"); w.integer(table.replicaRowCount)
        w.key("replica_table_missing"); w.bool(table.isReplicaTableMissing)
        w.key("schema_differences")
        w.beginArray()
        for difference in table.schemaDifferences { w.string(difference) }
        w.endArray()
        for (name, tally) in [("missing", table.missing), ("extra", table.extra), ("differing", table.differing)] {
            w.key(name)
            w.beginObject()
            w.key("count"); w.integer(tally.count)
            w.key("keys")
            w.beginArray()
            for key in tally.sampleKeys { SampleKeyFormat.write(key, names: table.keyNames, to: &w) }
            w.endArray()
            w.endObject()
        }
        w.endObject()
    }

    private func optional(_ value: Int64?, _ w: inout JSONWriter) {
        if let value { w.integer(value) } else { w.null() }
    }

    // MARK: - Text

    private func renderText() -> String {
        var lines: [String] = []
        let diverged = divergedTables.count
        lines.append(isConsistent
            ? "replica-check: CONSISTENT (\(tables.count) \(plural(tables.count, "table")) compared)"
            : "replica-check: DIVERGED (\(diverged) of \(tables.count) \(plural(tables.count, "table")); \(missingCount) missing, \(extraCount) extra, \(differingCount) differing)")
        lines.append("  source   \(sourcePath)  LSN \(sourceLSN.map { String($0.rawValue) } ?? "unknown (no --log)")")
        lines.append("  replica  \(replicaPath)  applied LSN \(appliedLSN.map { String($0.rawValue) } ?? "unknown (no offset row for this source)")")
        var lag = "  lag      " + (lagLSN.map { "\($0) LSN" } ?? "unknown")
        if let pendingChangeCount { lag += ", \(pendingChangeCount) pending change \(plural(Int(clamping: pendingChangeCount), "row")) in _cdc_changes" }
        lines.append(lag)
        lines.append("")

        let names = tables.map { $0.sourceTable == $0.replicaTable ? $0.sourceTable : "\($0.sourceTable) -> \($0.replicaTable)" }
        let nameWidth = max(5, names.map(\.count).max() ?? 0)
        let header = [pad("table", nameWidth), lpad("source", 10), lpad("replica", 10), lpad("missing", 9), lpad("extra", 9), lpad("differing", 10), "  status"]
        lines.append("  " + header.joined(separator: " "))
        for (table, name) in zip(tables, names) {
            let status = table.isReplicaTableMissing ? (table.isConsistent ? "ok (empty)" : "NO TABLE") : (table.isConsistent ? "ok" : "DIVERGED")
            let cells = [pad(name, nameWidth), lpad(String(table.sourceRowCount), 10), lpad(String(table.replicaRowCount), 10),
                         lpad(String(table.missing.count), 9), lpad(String(table.extra.count), 9), lpad(String(table.differing.count), 10),
                         "  " + status]
            lines.append("  " + cells.joined(separator: " "))
        }
        for table in tables where !table.isConsistent {
            lines.append("")
            lines.append("  \(table.sourceTable):")
            for difference in table.schemaDifferences { lines.append("    schema: \(difference)") }
            for (label, tally) in [("missing", table.missing), ("extra", table.extra), ("differing", table.differing)] where tally.count > 0 {
                var line = "    \(label): " + tally.sampleKeys.map { SampleKeyFormat.text($0, names: table.keyNames) }.joined(separator: ", ")
                if tally.count > Int64(tally.sampleKeys.count) { line += (tally.sampleKeys.isEmpty ? "" : ", ") + "… (\(tally.count) in all)" }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    private func plural(_ n: Int, _ word: String) -> String { n == 1 ? word : word + "s" }
    private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
    private func lpad(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }
}
