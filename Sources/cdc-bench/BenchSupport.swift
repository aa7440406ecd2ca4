import CDCCore
import CDCSQLite
import CDCTransport
import Foundation

/// Small measuring helpers shared by the WAL benchmarks: wall time, temporary folders, file
/// sizes, waiting for a condition that another process makes true.
enum BenchSupport {
    /// Wall-clock seconds `body` took.
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// A new empty folder under the system's temporary folder (the caller removes it).
    static func makeTemporaryDirectory(_ prefix: String) throws -> String {
        let dir = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The size of a file in bytes, 0 when it is missing.
    static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// The total size of the regular files under `path`, and how many there are.
    /// - Complexity: O(files under `path`).
    static func treeSize(_ path: String) -> (bytes: Int64, files: Int) {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return (0, 0) }
        var bytes: Int64 = 0, files = 0
        while let name = walker.nextObject() as? String {
            var st = stat()
            if stat(path + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { bytes += Int64(st.st_size); files += 1 }
        }
        return (bytes, files)
    }

    /// Polls `condition` every `pollSeconds` until it holds.
    /// - Throws: ``BenchFailure`` naming `what` after `timeoutSeconds`.
    static func wait(for what: String, timeoutSeconds: Double, pollSeconds: Double = 0.05, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while try !condition() {
            guard Date() < deadline else { throw BenchFailure("timed out after \(Int(timeoutSeconds)) s waiting for \(what)") }
            usleep(useconds_t(pollSeconds * 1e6))
        }
    }

    /// Waits until `value` has not changed for `quietSeconds` (a process that is done stops
    /// changing what it writes).
    static func waitUntilStable<T: Equatable>(_ what: String, quietSeconds: Double, timeoutSeconds: Double, _ value: () throws -> T) throws {
        var last = try value()
        var since = Date()
        try wait(for: what, timeoutSeconds: timeoutSeconds, pollSeconds: 0.1) {
            let now = try value()
            if now != last { last = now; since = Date() }
            return Date().timeIntervalSince(since) >= quietSeconds
        }
    }

    /// The last LSN in the event log at `path`, 0 while the log does not exist yet.
    static func lastLSN(ofLog path: String) -> Int64 {
        guard FileManager.default.fileExists(atPath: path), let log = try? EventLog(path: path, readOnly: true) else { return 0 }
        defer { try? log.close() }
        return (try? log.lastLSN().rawValue) ?? 0
    }

    /// What an agent's event log holds so far: its last LSN and how many snapshot epochs
    /// started and ended (more than one start means the agent lost continuity and resynced).
    struct LogProgress: Equatable {
        var lastLSN: Int64 = 0
        var epochsStarted = 0
        var epochsEnded = 0
    }

    /// Reads ``LogProgress`` of the log at `path` (all zero while it does not exist yet).
    static func progress(ofLog path: String) -> LogProgress {
        guard FileManager.default.fileExists(atPath: path), let c = try? Connection(path: path, mode: .readOnly) else { return LogProgress() }
        defer { try? c.close() }
        // The log's own table (Sources/CDCTransport/EventLog.swift): one row per event, its type in a column.
        guard let row = try? c.query("SELECT coalesce(max(lsn), 0), coalesce(sum(type = 'snapshot_start'), 0), coalesce(sum(type = 'snapshot_end'), 0) FROM cdc_events").first,
              row.count == 3, case .integer(let lsn) = row[0], case .integer(let started) = row[1], case .integer(let ended) = row[2] else { return LogProgress() }
        return LogProgress(lastLSN: lsn, epochsStarted: Int(started), epochsEnded: Int(ended))
    }

    /// Whether the agent writing the log at `path` has stored a WAL position (its snapshot
    /// epoch is complete).
    static func agentHasPosition(log path: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path), let log = try? EventLog(path: path, readOnly: true) else { return false }
        defer { try? log.close() }
        return (try? log.agentState()["mode"]?.stringValue) == "wal"
    }

    /// The executable `name` beside the running one (SwiftPM puts every product of a build in
    /// the same folder), or `nil` when it was not built.
    static func siblingExecutable(_ name: String) -> String? {
        guard let me = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return nil }
        let path = me.deletingLastPathComponent().appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// `bytes` as MiB with one decimal.
    static func mebibytes(_ bytes: Int64) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}
