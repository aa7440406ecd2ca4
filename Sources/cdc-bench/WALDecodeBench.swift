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
/// appends the events durably. The capture times its own appends
/// (``WALCapture/Statistics/appendSeconds``); the rest of its time is the decode.
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
        /// The part of the capture spent appending (encoding and the durable insert).
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

        let writer = try ShopWriter(path: sourcePath, seed: seed, walAutocheckpointPages: 0)
        let writerSeconds = try BenchSupport.seconds { try writer.bulkInsertCustomers(rows, perTransaction: perTransaction) }
        let walBytes = BenchSupport.fileSize(sourcePath + "-wal")

        var captured = 0
        let appendBefore = capture.statistics.appendSeconds
        let captureSeconds = try BenchSupport.seconds { captured = try capture.captureAvailable() }
        // The capture times its own appends: what is left of its time is reading and decoding.
        let appendSeconds = capture.statistics.appendSeconds - appendBefore
        // The writer's connection stays open until here, so the WAL is never checkpointed away.
        withExtendedLifetime(writer) {}
        try capture.close()
        guard captured == rows else { throw BenchFailure("WAL capture produced \(captured) events for \(rows) inserts") }

        try log.close()
        return Measurement(rowChanges: rows, walBytes: walBytes, writerSeconds: writerSeconds, captureSeconds: captureSeconds, appendSeconds: appendSeconds)
    }
}
