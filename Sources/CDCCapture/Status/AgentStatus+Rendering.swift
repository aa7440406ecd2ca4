import CDCCore
import Foundation

extension AgentStatus {
    /// The status as text for a terminal, or as one JSON object.
    ///
    /// Text: one labelled line per figure (source, log, resync, requests, last error), then a
    /// table of sinks. JSON: one object with a fixed member order (docs/operations.md), no
    /// trailing newline; times in UTC milliseconds (`…_ms`), unknown figures `null`.
    /// - Complexity: O(sinks).
    public func render(json: Bool) -> String {
        json ? renderJSON() : renderText()
    }

    // MARK: - JSON

    private func renderJSON() -> String {
        var w = JSONWriter(reservingCapacity: 1024)
        func optional(_ v: Int64?) { if let v { w.integer(v) } else { w.null() } }
        w.beginObject()
        w.key("generated_ms"); w.integer(generatedMilliseconds)
        w.key("source")
        w.beginObject()
        w.key("service"); w.string(source.service)
        w.key("db"); w.string(source.databasePath)
        w.key("mode"); if let m = source.mode { w.string(m.rawValue) } else { w.null() }
        w.key("lsn"); optional(source.capturedLSN?.rawValue)
        w.key("pending_change_rows"); optional(source.pendingChangeRows)
        w.key("unread_wal_frames"); optional(source.unreadWALFrames)
        w.endObject()
        w.key("log")
        w.beginObject()
        w.key("path"); w.string(log.path)
        w.key("last_lsn"); w.integer(log.lastLSN.rawValue)
        w.key("pruned_through"); w.integer(log.prunedThrough.rawValue)
        w.key("last_event_ts_ms"); optional(log.lastEventTimestampMilliseconds)
        w.endObject()
        w.key("resync")
        w.beginObject()
        w.key("running"); w.bool(isResyncRunning)
        w.key("epoch"); optional(runningEpoch?.epoch.rawValue)
        w.key("reason"); if let r = runningEpoch?.reason { w.string(r) } else { w.null() }
        w.key("started_ms"); optional(runningEpoch?.startedMilliseconds)
        w.key("events_so_far"); optional(runningEpoch?.eventsSoFar)
        w.endObject()
        w.key("snapshot_requests_pending"); w.integer(pendingSnapshotRequests)
        w.key("last_error")
        if let e = lastError {
            w.beginObject()
            w.key("message"); w.string(e.message)
            w.key("ts_ms"); w.integer(e.timestampMilliseconds)
            w.endObject()
        } else {
            w.null()
        }
        w.key("sinks")
        w.beginArray()
        for s in sinks {
            w.beginObject()
            w.key("sink"); w.string(s.acknowledgement.sink)
            w.key("offset"); w.integer(s.acknowledgement.offset.rawValue)
            w.key("lag_events"); w.integer(s.lagEvents)
            w.key("lag_seconds"); if let l = s.lagSeconds { w.rawNumber(Self.decimal(l)) } else { w.null() }
            w.key("event_ts_ms"); optional(s.acknowledgement.eventTimestampMilliseconds)
            w.key("acked_ms"); w.integer(s.acknowledgement.acknowledgedMilliseconds)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    // MARK: - Text

    private func renderText() -> String {
        var lines: [String] = []
        func line(_ label: String, _ text: String) { lines.append(label.padding(toLength: 12, withPad: " ", startingAt: 0) + text) }
        line("source", "\(source.service) (\(source.databasePath))" + (source.mode.map { ", \($0.rawValue) mode" } ?? ""))
        var position = "source LSN " + (source.capturedLSN.map { "\($0)" } ?? "unknown (no capture position stored yet)")
        if let rows = source.pendingChangeRows {
            position += "; \(rows) change row\(rows == 1 ? "" : "s") pending at the source"
        } else if let frames = source.unreadWALFrames {
            position += "; \(frames) unread WAL frame\(frames == 1 ? "" : "s")"
        } else if source.mode == .wal {
            position += "; unread WAL frames unknown (no wal-index)"
        }
        line("", position)
        line("log", log.path)
        var logLine = "last LSN \(log.lastLSN)"
        if let ts = log.lastEventTimestampMilliseconds { logLine += ", newest event \(Self.timestamp(ts)) (\(age(ts)))" }
        logLine += log.prunedThrough == .zero ? "; nothing pruned" : "; retention pruned through LSN \(log.prunedThrough)"
        line("", logLine)
        if let e = runningEpoch {
            let what = [e.reason, e.tables.isEmpty ? nil : "\(e.tables.count) table\(e.tables.count == 1 ? "" : "s")"].compactMap { $0 }.joined(separator: ", ")
            line("resync", "running: epoch \(e.epoch)\(what.isEmpty ? "" : " (\(what))"), \(e.eventsSoFar) event\(e.eventsSoFar == 1 ? "" : "s") so far, started \(age(e.startedMilliseconds))")
        } else {
            line("resync", "not running")
        }
        line("requests", "\(pendingSnapshotRequests) snapshot request\(pendingSnapshotRequests == 1 ? "" : "s") pending")
        if let e = lastError {
            line("last error", "\(Self.timestamp(e.timestampMilliseconds)) (\(age(e.timestampMilliseconds))): \(e.message)")
        } else {
            line("last error", "none")
        }
        lines.append("")
        if sinks.isEmpty {
            lines.append("no sink has acknowledged to this log (a sink reports its offset when it can write to the log)")
        } else {
            let rows = [["SINK", "OFFSET", "LAG EVENTS", "LAG SECONDS", "ACKNOWLEDGED"]] + sinks.map { s in
                [s.acknowledgement.sink, "\(s.acknowledgement.offset)", "\(s.lagEvents)",
                 s.lagSeconds.map(Self.decimal) ?? "unknown", age(s.acknowledgement.acknowledgedMilliseconds)]
            }
            let widths = (0..<5).map { i in rows.map { $0[i].count }.max() ?? 0 }
            for row in rows {
                lines.append(row.enumerated().map { i, cell in
                    // The sink name left-aligned, the figures right-aligned.
                    let pad = String(repeating: " ", count: widths[i] - cell.count)
                    return i == 0 || i == 4 ? cell + pad : pad + cell
                }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// "3.2 s ago", "4 min ago", "2 h ago", "3 d ago" (or "in the future" for a clock skew).
    private func age(_ milliseconds: Int64) -> String {
        let seconds = Double(generatedMilliseconds - milliseconds) / 1000
        if seconds < 0 { return "in \(Self.decimal(-seconds)) s, clocks differ" }
        if seconds < 120 { return String(format: "%.1f s ago", seconds) }
        if seconds < 7200 { return "\(Int(seconds / 60)) min ago" }
        if seconds < 172_800 { return "\(Int(seconds / 3600)) h ago" }
        return "\(Int(seconds / 86400)) d ago"
    }

    /// UTC, ISO 8601 with milliseconds.
    static func timestamp(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
