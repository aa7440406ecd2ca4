import CDCCore
import CDCSQLite
import CDCWAL
import Foundation

/// The pin and barrier steps of docs/wal-capture-protocol.md.
extension WALCapture {
    /// Begins a read transaction on the pin connection not in use, and makes it the active
    /// pin (the old one, if any, is still held: the caller releases it after reading).
    func takePin() throws {
        let next = activePin.map { 1 - $0 } ?? 0
        let c = pins[next]
        if !c.isAutocommit { try c.execute("ROLLBACK") }
        try c.execute("BEGIN")
        // A read starts the snapshot, and with it the read mark (wal.c, walTryBeginRead).
        _ = try c.scalar("SELECT count(*) FROM sqlite_schema")
        activePin = next
    }

    /// Ends the read transaction on pin `index`.
    func endPin(_ index: Int) throws {
        let c = pins[index]
        if !c.isAutocommit { try c.execute("ROLLBACK") }
    }

    /// Ends every pin.
    func endAllPins() throws {
        for i in pins.indices { try endPin(i) }
        activePin = nil
        pinnedSincePosition = false
    }

    /// Lets the WAL restart: under the agent's own write lock (no writer can append),
    /// captures the last frames, releases its pins, runs a PASSIVE checkpoint, takes a new
    /// pin (mark 0 when everything was copied), and releases the write lock. Never RESTART
    /// or TRUNCATE (protocol step 3). Skipped when the write lock cannot be had within
    /// ``Options/barrierWaitMilliseconds``.
    /// - Returns: events appended while the barrier was held.
    func barrierCycle() throws -> Int {
        guard try acquireBarrier() else {
            logger.debug("\(sourcePath): barrier not acquired within \(options.barrierWaitMilliseconds) ms; WAL at frame \(position?.frameIndex ?? 0)")
            return 0
        }
        let started = DispatchTime.now().uptimeNanoseconds
        var appended = 0
        do {
            appended = try readAndCapture().appended
            if pendingEpoch == nil {
                try endAllPins()
                let result = try pins[0].query("PRAGMA wal_checkpoint(PASSIVE)").first ?? []
                try takePin()
                pinnedSincePosition = true
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
                logger.debug("\(sourcePath): barrier cycle \(String(format: "%.2f", elapsed)) ms, checkpoint \(result.map { v -> Int64 in if case .integer(let i) = v { return i } else { return -1 } })")
            }
            try barrier.execute("ROLLBACK")
        } catch {
            try? barrier.execute("ROLLBACK")
            throw error
        }
        return appended
    }

    /// Tries to take the write lock (`BEGIN IMMEDIATE`) for up to `waitMilliseconds`
    /// (default ``Options/barrierWaitMilliseconds``), one attempt every 200 µs without SQLite's busy
    /// handler. SQLite's lock has no queue, and its busy handler sleeps 1 to 100 ms between
    /// attempts, so against a service that starts its next transaction microseconds after
    /// each commit it would almost never land in the gap; frequent short attempts do.
    /// Waiting blocks nobody: the agent holds nothing meanwhile.
    /// - Returns: whether the barrier is held.
    func acquireBarrier(waitMilliseconds: Int32? = nil) throws -> Bool {
        try barrier.setBusyTimeout(milliseconds: 0)
        defer { try? barrier.setBusyTimeout(milliseconds: options.busyTimeoutMilliseconds) }
        let wait = waitMilliseconds ?? options.barrierWaitMilliseconds
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, wait)) * 1_000_000
        while true {
            do {
                try barrier.execute("BEGIN IMMEDIATE")
                return true
            } catch let e as SQLiteError where e.isBusy {
                if DispatchTime.now().uptimeNanoseconds >= deadline { return false }
                usleep(200)
            }
        }
    }
}
