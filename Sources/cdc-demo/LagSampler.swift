import CDCCore
import CDCSQLite
import Foundation

/// Measures end-to-end lag: each time the read model's applied LSN moves, the time since that
/// event's commit (its `ts_ms`) is one sample. Sampling every few milliseconds adds at most
/// that much to each sample.
final class LagSampler {
    private let logPath: String
    private let replicaPath: String
    private var log: Connection?
    private var replica: Connection?
    private var lastApplied: Int64 = 0
    private(set) var samples: [Int64] = []

    init(logPath: String, replicaPath: String) {
        self.logPath = logPath
        self.replicaPath = replicaPath
    }

    /// The read model's applied LSN, or `nil` before the sink has created it.
    func appliedLSN() -> Int64? {
        if replica == nil { replica = try? Connection(path: replicaPath, mode: .readOnly) }
        guard let replica, case .integer(let lsn)? = try? replica.scalar("SELECT max(lsn) FROM _cdc_sink_offset") else { return nil }
        return lsn
    }

    func sample() {
        guard let applied = appliedLSN(), applied > lastApplied else { return }
        lastApplied = applied
        if log == nil { log = try? Connection(path: logPath, mode: .readOnly) }
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        // Snapshot rows carry the time they were read, not a commit time; leave them out.
        if let log, case .integer(let ts)? = try? log.scalar(
            "SELECT ts_ms FROM cdc_events WHERE lsn = ? AND type = 'change' AND json_extract(event, '$.op') <> 'snapshot'", [.integer(applied)]) {
            samples.append(max(0, now - ts))
        }
    }

    func summary() -> String {
        guard !samples.isEmpty else { return "end-to-end lag   no samples" }
        let s = samples.sorted()
        func q(_ p: Double) -> Int64 { s[min(s.count - 1, Int(Double(s.count) * p))] }
        return "end-to-end lag   median \(q(0.5)) ms, p95 \(q(0.95)) ms, max \(s.last ?? 0) ms (commit → applied in the read model, \(s.count) samples)"
    }
}

/// Counts of what the event log holds.
struct EventStats {
    var changes = 0
    var transactions = 0
    var snapshotRows = 0
    var lastLSN: Int64 = 0

    init(logPath: String) throws {
        let log = try Connection(path: logPath, mode: .readOnly)
        for row in try log.query("""
            SELECT json_extract(event, '$.op') = 'snapshot', count(*), count(DISTINCT json_extract(event, '$.txn.id'))
            FROM cdc_events WHERE type = 'change' GROUP BY 1
            """) {
            guard case .integer(let isSnapshot) = row[0], case .integer(let n) = row[1], case .integer(let t) = row[2] else { continue }
            if isSnapshot != 0 { snapshotRows = Int(n) } else { changes = Int(n); transactions = Int(t) }
        }
        lastLSN = (try Self.lastLSN(logPath: logPath)) ?? 0
    }

    static func lastLSN(logPath: String) throws -> Int64? {
        let log = try Connection(path: logPath, mode: .readOnly)
        if case .integer(let v)? = try log.scalar("SELECT max(lsn) FROM cdc_events") { return v }
        return nil
    }
}
