import CDCCore
import CDCTransport
import Foundation

/// Reads an event log batch by batch and decodes the next batch on another thread while the
/// caller applies the current one.
///
/// Decoding costs about as much as applying, and the two are independent, so on a machine
/// with two cores a sink catching up on a backlog runs them side by side. Reads from the log
/// stay on the caller's thread (the log's connection has one owner); only pure decoding moves.
/// Read-ahead starts only after a full batch, so a sink following a live log pays nothing.
///
/// Not `Sendable`: one sink owns one reader.
final class ReadAheadReader {
    private let log: EventLog
    private let decoder = EventDecoder()
    private let queue = DispatchQueue(label: "cdc-sink.decode")
    private var pending: (after: LSN, limit: Int, result: DecodedBatch)?

    init(log: EventLog) { self.log = log }

    /// The events after `position`, at most `limit`, in LSN order.
    /// - Throws: what ``EventLog/readRaw(after:limit:)`` and ``EventLog/decode(_:with:)`` throw.
    func read(after position: LSN, limit: Int) throws -> [Event] {
        let events: [Event]
        if let p = pending, p.after == position, p.limit == limit {
            events = try p.result.wait()
        } else {
            let rows = try log.readRaw(after: position, limit: limit)
            events = try queue.sync { try log.decode(rows, with: decoder) }
        }
        pending = nil
        if events.count == limit, let last = events.last,
           // An error here (a pruned offset, say) is left for the next read to meet and report.
           let rows = try? log.readRaw(after: last.lsn, limit: limit), !rows.isEmpty {
            let batch = DecodedBatch()
            let log = self.log, decoder = self.decoder
            queue.async { batch.finish(Result { try log.decode(rows, with: decoder) }) }
            pending = (last.lsn, limit, batch)
        }
        return events
    }

    /// Drops a batch decoded ahead (the caller moved elsewhere in the log).
    func reset() {
        _ = try? pending?.result.wait()
        pending = nil
    }
}

/// A batch being decoded on the reader's queue.
private final class DecodedBatch: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<[Event], Error> = .success([])

    /// Called once, on the decode queue.
    func finish(_ r: Result<[Event], Error>) {
        result = r
        done.signal()
    }

    /// Waits for the decode; the semaphore orders the write before this read.
    func wait() throws -> [Event] {
        done.wait()
        done.signal()
        return try result.get()
    }
}
