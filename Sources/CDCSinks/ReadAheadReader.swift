import CDCCore
import CDCTransport
import Foundation

/// Reads an event log batch by batch and reads and decodes the next batch on another thread
/// while the caller applies the current one.
///
/// Reading and decoding cost about as much as applying, and they are independent, so on a
/// machine with two cores a sink catching up on a backlog runs them side by side. The reader
/// has its own read-only connection to the log, used only on its queue (connections have one
/// owner). Read-ahead starts only after a full batch, so a sink following a live log pays
/// nothing for it.
///
/// Not `Sendable`: one sink owns one reader.
final class ReadAheadReader {
    private let queue = DispatchQueue(label: "cdc-sink.read-ahead")
    private let source: ReaderSource
    private var pending: (after: LSN, limit: Int, result: DecodedBatch)?

    /// - Throws: ``SQLiteError`` / ``EventLogError`` when the log cannot be opened for reading.
    init(log: EventLog) throws {
        source = ReaderSource(log: try EventLog(path: log.path, readOnly: true))
    }

    /// The events after `position`, at most `limit`, in LSN order.
    /// - Throws: what ``EventLog/read(after:limit:)`` throws.
    func read(after position: LSN, limit: Int) throws -> [Event] {
        let events: [Event]
        if let p = pending, p.after == position, p.limit == limit {
            events = try p.result.wait()
        } else {
            if let p = pending { _ = try? p.result.wait() }
            let source = self.source
            events = try queue.sync { try source.read(after: position, limit: limit) }
        }
        pending = nil
        if events.count == limit, let last = events.last {
            let batch = DecodedBatch()
            let source = self.source
            queue.async { batch.finish(Result { try source.read(after: last.lsn, limit: limit) }) }
            pending = (last.lsn, limit, batch)
        }
        return events
    }

    /// Waits for a batch read ahead and closes the reader's connection.
    func close() {
        _ = try? pending?.result.wait()
        pending = nil
        let source = self.source
        queue.sync { source.close() }
    }
}

/// The reader's connection and decoder, touched only on the reader's queue.
private final class ReaderSource: @unchecked Sendable {
    private let log: EventLog
    private let decoder = EventDecoder()

    init(log: EventLog) { self.log = log }

    func read(after position: LSN, limit: Int) throws -> [Event] {
        try log.decode(log.readRaw(after: position, limit: limit), with: decoder)
    }

    func close() { try? log.close() }
}

/// A batch being read on the reader's queue.
private final class DecodedBatch: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<[Event], Error> = .success([])

    /// Called once, on the reader's queue.
    func finish(_ r: Result<[Event], Error>) {
        result = r
        done.signal()
    }

    /// Waits for the read; the semaphore orders the write before this read.
    func wait() throws -> [Event] {
        done.wait()
        done.signal()
        return try result.get()
    }
}
