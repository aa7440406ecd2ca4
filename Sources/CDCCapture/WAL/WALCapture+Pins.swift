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

    /// Lets the WAL restart: after a PASSIVE checkpoint up to its pin, and then under the
    /// agent's own write lock (no writer can append),
    /// captures the last frames, releases its pins, runs a PASSIVE checkpoint, takes a new
    /// pin (mark 0 when everything was copied), and releases the write lock. Never RESTART
    /// or TRUNCATE (protocol step 3). Skipped when the write lock cannot be had within
    /// ``Options/barrierWaitMilliseconds``.
    /// - Returns: events appended while the barrier was held.
    func barrierCycle() throws -> Int {
        // Copy what the pin allows first, outside the barrier: the copy and its fsync of the
        // database file are the slow part, and the service's writers must not wait for them.
        // Under the barrier only the frames committed since are left to copy.
        if let pin = activePin {
            _ = try? pins[1 - pin].query("PRAGMA wal_checkpoint(PASSIVE)")
        }
        // Nothing to gain until the WAL has taken more frames since the last full cycle (the
        // next write restarts it; until then the position does not move back).
        if let done = lastFullCycle, let p = position, done.salt1 == p.header.salt1, done.salt2 == p.header.salt2,
           p.frameIndex < done.frame + options.checkpointThresholdFrames {
            return 0
        }
        guard try acquireBarrier() else {
            logger.debug("\(sourcePath): barrier not acquired within \(options.barrierWaitMilliseconds) ms; WAL at frame \(position?.frameIndex ?? 0)")
            return 0
        }
        let started = DispatchTime.now().uptimeNanoseconds
        var appended = 0
        do {
            appended = try readAndCapture().appended
            // Bound the barrier: copy only a short tail under it. When more is left (the
            // service's own checkpoint held the copy back), give up and try again later.
            let left = (walIndex?.lastCommittedFrame()).map { Int($0.frame) - Int(checkpointInfo()?.backfilledFrames ?? 0) } ?? 0
            if pendingEpoch == nil, left <= Self.barrierCopyLimitFrames {
                try endAllPins()
                let result = try pins[0].query("PRAGMA wal_checkpoint(PASSIVE)").first ?? []
                try takePin()
                pinnedSincePosition = true
                let values = result.map { v -> Int64 in if case .integer(let i) = v { return i } else { return -1 } }
                if values.count == 3, values[0] == 0, values[1] == values[2], let p = position {
                    lastFullCycle = (p.header.salt1, p.header.salt2, p.frameIndex)
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
                logger.debug("\(sourcePath): barrier cycle \(String(format: "%.2f", elapsed)) ms, checkpoint \(values)")
            } else if pendingEpoch == nil {
                logger.debug("\(sourcePath): barrier released without a checkpoint: \(left) frames left to copy")
            }
            try barrier.execute("ROLLBACK")
        } catch {
            try? barrier.execute("ROLLBACK")
            throw error
        }
        return appended
    }

    /// At most this many frames are copied into the database file under the barrier.
    static let barrierCopyLimitFrames = 64

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
