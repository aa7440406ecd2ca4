import CDCCore
import CDCSQLite
import CDCWorkload
import Foundation

/// Part 3 of `cdc-bench wal`: the agent's peak resident memory on a large source database,
/// through its initial snapshot epoch, a stream of small transactions and one large one.
///
/// The source is the sample shop plus a `documents` table of ~8 KiB rows (text and a blob,
/// two overflow pages each) filled in large transactions until the file reaches the asked
/// size. The agent runs as a child process; its VmHWM is read after each phase, and its final
/// peak comes from `wait4`.
enum AgentMemoryBench {
    /// What one run measured.
    struct Measurement {
        var databaseBytes: Int64
        var buildSeconds: Double
        var epochSeconds: Double
        var epochEvents: Int64
        var logBytes: Int64
        var peakAfterEpoch: Int64
        var smallTransactions: Int
        var peakAfterSmall: Int64
        var largeTransactionRows: Int
        var largeTransactionSeconds: Double
        var peakAfterLarge: Int64
        var peak: Int64
        /// Resync epochs after the initial one (continuity lost).
        var resyncEpochs: Int
    }

    /// The one large transaction: this many customer inserts.
    static let largeTransactionRows = 100_000
    /// The stream of small transactions: this many sample-shop transactions.
    static let smallTransactions = 2_000

    /// Builds a source of about `databaseBytes`, runs the agent through the three phases.
    /// - Throws: ``BenchFailure`` when the agent fails or does not catch up; ``SQLiteError``.
    static func measure(executable: String, databaseBytes: Int64, writerAutocheckpointPages: Int, seed: UInt64, directory: String) throws -> Measurement {
        let sourcePath = directory + "/large-source.db", logPath = directory + "/large-events.db", output = directory + "/large-agent.out"
        let buildSeconds = try BenchSupport.seconds { try buildSource(at: sourcePath, bytes: databaseBytes, seed: seed) }
        let size = BenchSupport.fileSize(sourcePath)

        let agent = try ChildProcess(executable: executable, arguments: ["run", "--db", sourcePath, "--log", logPath, "--mode", "wal", "--service", "bench"],
                                     outputPath: output)
        defer { if agent.isRunning { agent.terminate(); _ = agent.wait() } }
        let epochSeconds = try BenchSupport.seconds {
            try BenchSupport.wait(for: "the agent's initial epoch", timeoutSeconds: 3_600, pollSeconds: 0.2) {
                guard agent.isRunning else { throw BenchFailure("cdc-agent exited early: \(ReplicationCPUBench.tail(output))") }
                return BenchSupport.agentHasPosition(log: logPath)
            }
        }
        let epochEvents = BenchSupport.lastLSN(ofLog: logPath)
        let afterEpoch = agent.peakResidentBytesSoFar() ?? 0

        // Small transactions: the shop's mix (orders, updates, deletes), one commit each.
        let writer = try ShopWriter(path: sourcePath, seed: seed, walAutocheckpointPages: writerAutocheckpointPages)
        for _ in 0..<smallTransactions { try writer.step() }
        try BenchSupport.waitUntilStable("the agent to capture the small transactions", quietSeconds: 2, timeoutSeconds: 600) {
            guard agent.isRunning else { throw BenchFailure("cdc-agent exited early: \(ReplicationCPUBench.tail(output))") }
            return BenchSupport.lastLSN(ofLog: logPath)
        }
        let afterSmall = agent.peakResidentBytesSoFar() ?? 0

        // One large transaction.
        let base = BenchSupport.lastLSN(ofLog: logPath)
        try writer.bulkInsertCustomers(largeTransactionRows, perTransaction: largeTransactionRows)
        let largeSeconds = try ReplicationCPUBench.waitForAgent(agent, log: logPath, output: output, base: base, rows: largeTransactionRows)
        let resyncs = BenchSupport.progress(ofLog: logPath).epochsStarted - 1
        let afterLarge = agent.peakResidentBytesSoFar() ?? 0
        agent.terminate()
        let usage = agent.wait()
        withExtendedLifetime(writer) {}
        guard usage.status == 0 else { throw BenchFailure("cdc-agent exited with status \(usage.status): \(ReplicationCPUBench.tail(output))") }
        return Measurement(databaseBytes: size, buildSeconds: buildSeconds, epochSeconds: epochSeconds, epochEvents: epochEvents,
                           logBytes: BenchSupport.fileSize(logPath), peakAfterEpoch: afterEpoch,
                           smallTransactions: smallTransactions, peakAfterSmall: afterSmall, largeTransactionRows: largeTransactionRows,
                           largeTransactionSeconds: largeSeconds, peakAfterLarge: afterLarge, peak: usage.peakResidentBytes, resyncEpochs: resyncs)
    }

    /// Creates the sample shop with 1,000 customers plus `documents` rows until the file holds
    /// about `bytes`, then checkpoints so the database file alone holds it.
    ///
    /// Rows are made inside SQLite (`randomblob`) in transactions of about 16 MiB with
    /// `synchronous=OFF`: the source is scaffolding, not the thing measured.
    static func buildSource(at path: String, bytes: Int64, seed: UInt64) throws {
        try SampleShop.create(at: path)
        let seeder = try ShopWriter(path: path, seed: seed)
        try seeder.bulkInsertCustomers(1_000, perTransaction: 1_000)
        let db = try Connection(path: path)
        defer { try? db.close() }
        try db.execute("PRAGMA synchronous=OFF")
        try db.execute("CREATE TABLE documents(id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, attachment BLOB)")
        // About 8 KiB a row: 2,000 characters of text and a 6,000-byte blob.
        // Transactions of about 16 MiB: large, yet fine-grained enough to stop near the asked size.
        let rowsPerTransaction = 2_000
        let insert = """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO documents(title, body, attachment)
            SELECT 'document ' || i, hex(randomblob(1000)), randomblob(6000) FROM n
            """
        while pageBytes(db) < bytes {
            _ = try db.transaction { try db.execute(insert, [.integer(Int64(rowsPerTransaction))]) }
        }
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        withExtendedLifetime(seeder) {}
    }

    private static func pageBytes(_ db: Connection) -> Int64 {
        guard case .integer(let pages)? = try? db.scalar("PRAGMA page_count"), case .integer(let size)? = try? db.scalar("PRAGMA page_size") else { return 0 }
        return pages * size
    }
}
