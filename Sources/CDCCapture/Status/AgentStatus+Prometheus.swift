import CDCCore
import Foundation

extension AgentStatus {
    /// The figures in Prometheus's text exposition format 0.0.4, as node_exporter's textfile
    /// collector reads it: per metric a `# HELP` and a `# TYPE` line, then one sample line
    /// per label set, `\n` line ends, a final newline. Every sample carries
    /// `service="…"`; sink samples also `sink="…"`. Times are Unix seconds, with
    /// milliseconds as decimals. A figure that is unknown is left out, not written as 0.
    /// Source: https://prometheus.io/docs/instrumenting/exposition_formats/
    /// - Complexity: O(sinks).
    public func prometheusText() -> String {
        var out = ""
        let service = [("service", source.service)]
        func family(_ name: String, _ help: String, _ samples: [([(String, String)], String)]) {
            guard !samples.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (labels, value) in samples {
                let rendered = labels.map { "\($0.0)=\"\(Self.escapeLabelValue($0.1))\"" }.joined(separator: ",")
                out += "\(name){\(rendered)} \(value)\n"
            }
        }
        func one(_ name: String, _ help: String, _ value: String?) {
            family(name, help, value.map { [(service, $0)] } ?? [])
        }
        one("cdc_source_captured_lsn", "The source LSN: the highest LSN whose capture position the agent has stored.",
            source.capturedLSN.map { "\($0.rawValue)" })
        one("cdc_source_pending_change_rows", "Change-table mode: committed change rows at the source not yet in the log.",
            source.pendingChangeRows.map(String.init))
        one("cdc_source_unread_wal_frames", "WAL mode: committed WAL frames after the agent's stored position.",
            source.unreadWALFrames.map(String.init))
        one("cdc_log_last_lsn", "The highest LSN in the event log, heartbeats included.", "\(log.lastLSN.rawValue)")
        one("cdc_log_pruned_through_lsn", "The highest LSN retention removed from the log (0: none).", "\(log.prunedThrough.rawValue)")
        one("cdc_log_last_event_timestamp_seconds", "ts_ms of the log's newest event, in Unix seconds.",
            log.lastEventTimestampMilliseconds.map(Self.seconds))
        let sinkLabels = { (s: Sink) in service + [("sink", s.acknowledgement.sink)] }
        family("cdc_sink_offset_lsn", "The LSN a sink last acknowledged as applied.",
               sinks.map { (sinkLabels($0), "\($0.acknowledgement.offset.rawValue)") })
        family("cdc_sink_lag_events", "Events in the log after a sink's acknowledged offset.",
               sinks.map { (sinkLabels($0), "\($0.lagEvents)") })
        family("cdc_sink_lag_seconds", "Age of the oldest event a sink has not applied (0 when it has applied the whole log).",
               sinks.compactMap { s in s.lagSeconds.map { (sinkLabels(s), Self.decimal($0)) } })
        family("cdc_sink_acknowledged_timestamp_seconds", "When a sink last acknowledged, in Unix seconds.",
               sinks.map { (sinkLabels($0), Self.seconds($0.acknowledgement.acknowledgedMilliseconds)) })
        one("cdc_resync_running", "1 while a snapshot epoch (resync, initial or requested) is being written, else 0.",
            isResyncRunning ? "1" : "0")
        one("cdc_snapshot_requests_pending", "Snapshot requests of sinks the agent has not served yet.", "\(pendingSnapshotRequests)")
        one("cdc_last_error_timestamp_seconds", "When the agent last recorded an error, in Unix seconds (0: never).",
            lastError.map { Self.seconds($0.timestampMilliseconds) } ?? "0")
        return out
    }

    /// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
    static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Milliseconds since 1970 as Unix seconds with three decimals, exactly (no binary
    /// floating point on the way).
    static func seconds(_ milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let m = milliseconds.magnitude
        let fraction = String(m % 1000)
        return "\(sign)\(m / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }

    /// A non-negative quantity with three decimals.
    static func decimal(_ value: Double) -> String {
        seconds(Int64((value * 1000).rounded()))
    }
}
