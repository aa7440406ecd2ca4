import CDCCapture
import CDCCore
import CDCTransport
import CDCWorkload
import Foundation

/// Part 1 of `cdc-bench wal`: how fast ``WALCapture`` turns already-written WAL frames into
/// events, against the time SQLite took to write them.
///
/// The writer commits the whole workload with `wal_autocheckpoint=0` while the capture holds
/// its pin, so every frame stays in the WAL; then one `captureAvailable()` decodes it all and
/// appends the events durably. The append alone is measured on its own (the same events, the
/// same batches and agent state, into a fresh log) and subtracted, which leaves the decode.
enum WALDecodeBench {
    /// What one run measured.
    struct Measurement {
        var rowChanges: Int
        /// Size of the WAL the writer left (frames of every transaction).
        var walBytes: Int64
        /// The service's time to commit the workload (the baseline).
        var writerSeconds: Double
        /// `captureAvailable()`: decode plus durable append.
        var captureSeconds: Double
        /// The same events appended to a fresh log, alone.
        var appendSeconds: Double
        /// Capture minus append: reading frames, the page map, the diff, the row images.
        var decodeSeconds: Double { max(captureSeconds - appendSeconds, 1e-6) }
    }

    /// Runs the workload (`rows` customer inserts, `perTransaction` to a transaction) once.
    /// - Throws: ``BenchFailure`` when capture does not produce one event per row,
    ///   ``SQLiteError``, ``EventLogError``, ``WALCaptureError``.
    static func measure(rows: Int, perTransaction: Int, seed: UInt64, directory: String) throws -> Measurement {
        let sourcePath = directory + "/decode-source.db"
        try SampleShop.create(at: sourcePath)
        let log = try EventLog(path: directory + "/decode-events.db", create: true)
        var options = WALCapture.Options()
        // No barrier cycle inside the measured call: its checkpoint is SQLite's work, not decoding.
        options.checkpointThresholdFrames = Int.max
        let capture = try WALCapture(sourcePath: sourcePath, log: log, service: "bench", logger: .silent, options: options)
        // The initial epoch (of empty tables) and the first pin, before anything is written.
        try capture.captureAvailable()
        let before = try log.lastLSN()

        let writer = try ShopWriter(path: sourcePath, seed: seed, walAutocheckpointPages: 0)
        let writerSeconds = try BenchSupport.seconds { try writer.bulkInsertCustomers(rows, perTransaction: perTransaction) }
        let walBytes = BenchSupport.fileSize(sourcePath + "-wal")

        var captured = 0
        let captureSeconds = try BenchSupport.seconds { captured = try capture.captureAvailable() }
        // The writer's connection stays open until here, so the WAL is never checkpointed away.
        withExtendedLifetime(writer) {}
        try capture.close()
        guard captured == rows else { throw BenchFailure("WAL capture produced \(captured) events for \(rows) inserts") }

        let appendSeconds = try measureAppendAlone(from: log, after: before, perTransaction: perTransaction, batchSize: options.batchSize,
                                                   path: directory + "/decode-append.db")
        try log.close()
        return Measurement(rowChanges: rows, walBytes: walBytes, writerSeconds: writerSeconds, captureSeconds: captureSeconds, appendSeconds: appendSeconds)
    }

    /// Appends the events captured after `offset` to a fresh log in the batches capture used
    /// (whole transactions, flushed once `batchSize` events are buffered), each with the agent
    /// state capture stored, and returns the seconds the appends took.
    private static func measureAppendAlone(from log: EventLog, after offset: LSN, perTransaction: Int, batchSize: Int, path: String) throws -> Double {
        var events: [Event] = []
        var cursor = offset
        while true {
            let batch = try log.read(after: cursor, limit: 10_000)
            guard let last = batch.last else { break }
            events += batch
            cursor = last.lsn
        }
        // A fresh log takes LSNs from 1; the events' content is unchanged.
        for i in events.indices { events[i].lsn = LSN(Int64(i + 1)) }
        let state = try log.agentState()
        let flushSize = perTransaction >= batchSize ? perTransaction : (batchSize + perTransaction - 1) / perTransaction * perTransaction
        let target = try EventLog(path: path, create: true)
        defer { try? target.close() }
        return try BenchSupport.seconds {
            var start = 0
            while start < events.count {
                let end = min(start + flushSize, events.count)
                try target.append(Array(events[start..<end]), state: state)
                start = end
            }
        }
    }
}
