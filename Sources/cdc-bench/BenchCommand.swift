import CDCCapture
import CDCCommandLine
import CDCCore
import CDCSinks
import CDCSQLite
import CDCTransport
import CDCWorkload
import Foundation

/// One benchmark run: the change-table path against plain SQLite writes of the same rows.
struct BenchCommand {
    var rows: Int
    var perTransactionShapes: [Int]
    var repeats: Int

    static let usage = """
        usage: cdc-bench [--rows N] [--per-transaction K[,K…]] [--repeat R]
               cdc-bench wal --help     (the WAL-capture benchmark)

        For each service transaction size K (default 1,100,10000 rows per transaction), on the
        sample shop's customers table, measures in one run and reports as ratios:
          write cost   the service's insert time with the change-table triggers installed
                       ÷ the same inserts without them (target ≤ 2.0)
          capture      events/s turning the recorded changes into events in the log, and
                       plain insert time ÷ capture time (how many times faster than the writes)
          sink apply   rows/s applying the events to a read model (1,000 events per
                       transaction) ÷ rows/s of plain SQLite inserting the same rows in
                       transactions of the same size (target ≥ 0.5); the sink's time includes
                       reading and decoding the events from the log, shown apart as "decode"
        Each figure is the median of R repeats (default 3). --rows defaults to 100000.
        """

    init(arguments: [String]) throws {
        var scanner = ArgumentScanner(command: "cdc-bench", arguments: arguments)
        if scanner.wantsHelp() { print(Self.usage); exit(0) }
        rows = Int(try scanner.integer("--rows", range: 100...100_000_000) ?? 100_000)
        perTransactionShapes = try (scanner.list("--per-transaction") ?? ["1", "100", "10000"]).map {
            guard let k = Int($0), k > 0 else { throw UsageError("cdc-bench: --per-transaction takes positive integers, got \($0)") }
            return k
        }
        repeats = Int(try scanner.integer("--repeat", range: 1...100) ?? 3)
        try scanner.finish()
        // A transaction cannot hold more rows than the workload has.
        let rowCount = rows
        perTransactionShapes = Array(Set(perTransactionShapes.map { min($0, rowCount) })).sorted()
    }

    func run() throws -> ExitCode {
        print("cdc-bench: \(rows) rows of the sample shop's customers table, median of \(repeats) runs; \(BenchMachine.description())")
        print("rows/txn | plain insert | with triggers | write cost | capture events/s | capture vs writes | decode events/s | sink rows/s | plain rows/s (1,000/txn) | sink vs plain")
        print("-------: | -----------: | ------------: | ---------: | ---------------: | ----------------: | --------------: | ----------: | -----------------------: | ------------:")
        var allMet = true
        for k in perTransactionShapes {
            var samples: [Sample] = []
            for r in 0..<repeats { samples.append(try measure(perTransaction: k, seed: UInt64(r + 1))) }
            let m = Sample.median(samples)
            let sinkRate = Double(rows) / m.sink, batchRate = Double(rows) / m.plainBatched
            let line = String(format: "%8d | %10.3f s | %11.3f s | %9.2fx | %16.0f | %16.2fx | %15.0f | %11.0f | %24.0f | %12.2fx",
                              k, m.plain, m.triggers, m.triggers / m.plain, Double(m.events) / m.capture, m.plain / m.capture,
                              Double(m.events) / m.decode, sinkRate, batchRate, sinkRate / batchRate)
            print(line)
            if m.triggers / m.plain > 2.0 || sinkRate / batchRate < 0.5 { allMet = false }
        }
        print(allMet ? "targets met: write cost ≤ 2.0x and sink ≥ 0.5x for every shape" : "a target was missed (write cost ≤ 2.0x, sink ≥ 0.5x); see the rows above")
        return .success
    }

    struct Sample {
        var plain: Double, triggers: Double, capture: Double, decode: Double, sink: Double, plainBatched: Double, events: Int
        static func median(_ s: [Sample]) -> Sample {
            func med(_ f: (Sample) -> Double) -> Double { let v = s.map(f).sorted(); return v[v.count / 2] }
            return Sample(plain: med(\.plain), triggers: med(\.triggers), capture: med(\.capture), decode: med(\.decode), sink: med(\.sink),
                          plainBatched: med(\.plainBatched), events: s[0].events)
        }
    }

    /// One repeat: plain inserts, then the same inserts with triggers, capture, sink.
    private func measure(perTransaction k: Int, seed: UInt64) throws -> Sample {
        let dir = NSTemporaryDirectory() + "cdc-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // Baseline: the service's writes without capture.
        let plainDB = dir + "/plain.db"
        try SampleShop.create(at: plainDB)
        let plain = try time { try ShopWriter(path: plainDB, seed: seed).bulkInsertCustomers(rows, perTransaction: k) }

        // The same writes with the triggers installed and the agent started (its first run
        // snapshots the empty tables, so what follows is pure streaming).
        let sourceDB = dir + "/source.db", logPath = dir + "/events.db", replicaPath = dir + "/replica.db"
        try SampleShop.create(at: sourceDB)
        let installConnection = try Connection(path: sourceDB)
        _ = try ChangeTableInstaller(connection: installConnection, logger: .silent).install(tables: nil)
        try installConnection.close()
        let log = try EventLog(path: logPath, create: true)
        let capture = try ChangeTableCapture(sourcePath: sourceDB, log: log, service: "bench", logger: .silent)
        try capture.captureAvailable()
        let eventsBefore = try log.lastLSN()
        let triggers = try time { try ShopWriter(path: sourceDB, seed: seed).bulkInsertCustomers(rows, perTransaction: k) }

        // Capture: change rows → events, durable in the log.
        var captured = 0
        let captureTime = try time { captured = try capture.captureAvailable() }
        guard try log.lastLSN().rawValue - eventsBefore.rawValue >= Int64(rows) else {
            throw BenchFailure("capture produced \(captured) events for \(rows) inserts")
        }
        try capture.close()

        // Decoding alone: what the sink spends before it writes anything.
        var decoded = 0
        let decodeTime = try time {
            var offset = eventsBefore
            while true {
                let batch = try log.read(after: offset, limit: 1000)
                guard let last = batch.last else { break }
                decoded += batch.count
                offset = last.lsn
            }
        }
        guard decoded >= rows else { throw BenchFailure("decoded \(decoded) events for \(rows) inserts") }

        // The sink's baseline: plain SQLite inserting the same rows in transactions of the
        // sink's batch size.
        let batchedDB = dir + "/plain-batched.db"
        try SampleShop.create(at: batchedDB)
        let plainBatched = try time { try ShopWriter(path: batchedDB, seed: seed).bulkInsertCustomers(rows, perTransaction: 1000) }

        // Sink: events → read model.
        let sink = try SQLiteSink(replicaPath: replicaPath)
        var applied = 0
        let sinkTime = try time { applied = try sink.sync(from: log, batchSize: 1000) }
        try sink.close()
        try log.close()
        let replica = try Connection(path: replicaPath, mode: .readOnly)
        guard try replica.scalar("SELECT count(*) FROM customers") == .integer(Int64(rows)) else {
            throw BenchFailure("the read model does not hold \(rows) customers after applying \(applied) events")
        }
        return Sample(plain: plain, triggers: triggers, capture: captureTime, decode: decodeTime, sink: sinkTime, plainBatched: plainBatched, events: captured)
    }

    private func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
