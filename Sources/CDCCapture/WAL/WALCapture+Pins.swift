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
        // While it waits for the lock, the agent keeps up with what the service commits, so
        // that what is left to read under the barrier is a few frames, not everything a busy
        // service wrote during the wait (that reading, and its durable append, would block the
        // service's writers).
        var appended = 0
        let acquired = try acquireBarrier { backlog in
            guard backlog > Self.barrierReadLimitFrames, self.pendingEpoch == nil else { return }
            appended += try self.advance().appended
        }
        if acquired { FaultPoint.reached(FaultPoint.barrierHeld) }
        guard acquired else {
            logger.debug("\(sourcePath): barrier not acquired within \(options.barrierWaitMilliseconds) ms; WAL at frame \(position?.frameIndex ?? 0)")
            return appended
        }
        if unreadFrames() > Self.barrierReadLimitFrames {
            try barrier.execute("ROLLBACK")
            logger.debug("\(sourcePath): barrier released at once: more than \(Self.barrierReadLimitFrames) frames to read under it")
            return appended
        }
        let started = DispatchTime.now().uptimeNanoseconds
        statistics.barrierCycles += 1
        defer {
            let held = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
            statistics.longestBarrierMilliseconds = max(statistics.longestBarrierMilliseconds, held)
        }
        do {
            let before = position
            appended += try readAndCapture().appended
            if let before, let after = position, after.header.saltBytes == before.header.saltBytes {
                statistics.mostFramesReadUnderBarrier = max(statistics.mostFramesReadUnderBarrier, after.frameIndex - before.frameIndex)
            }
            // Bound the barrier: copy only a short tail under it. When more is left (the
            // service's own checkpoint held the copy back), give up and try again later.
            let left = (walIndex?.lastCommittedFrame()).map { Int($0.frame) - Int(checkpointInfo()?.backfilledFrames ?? 0) } ?? 0
            if pendingEpoch == nil, left <= Self.barrierCopyLimitFrames {
                FaultPoint.reached(FaultPoint.barrierRead)
                try endAllPins()
                let result = try pins[0].query("PRAGMA wal_checkpoint(PASSIVE)").first ?? []
                FaultPoint.reached(FaultPoint.barrierCheckpoint)
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
    public static let barrierCopyLimitFrames = 64
    /// At most this many frames are read (and their events appended) under the barrier.
    public static let barrierReadLimitFrames = 64

    /// Committed frames of the current WAL generation past ``position`` (wal-index `mxFrame`);
    /// `Int.max` when the wal-index names another generation or cannot be read.
    func unreadFrames() -> Int {
        guard let p = position, let last = walIndex?.lastCommittedFrame() else { return position == nil ? 0 : .max }
        guard last.salts == p.header.saltBytes else { return .max }
        return max(0, Int(last.frame) - p.frameIndex)
    }

    /// Tries to take the write lock (`BEGIN IMMEDIATE`) for up to `waitMilliseconds`
    /// (default ``Options/barrierWaitMilliseconds``), one attempt every 200 µs without SQLite's busy
    /// handler. SQLite's lock has no queue, and its busy handler sleeps 1 to 100 ms between
    /// attempts, so against a service that starts its next transaction microseconds after
    /// each commit it would almost never land in the gap; frequent short attempts do.
    /// Waiting blocks nobody: the agent holds nothing meanwhile.
    /// - Returns: whether the barrier is held.
    /// - Parameter whileWaiting: called between attempts, at most every millisecond, with the
    ///   number of committed frames not yet read (``unreadFrames()``), so the caller can keep up.
    func acquireBarrier(waitMilliseconds: Int32? = nil, whileWaiting: ((Int) throws -> Void)? = nil) throws -> Bool {
        try barrier.setBusyTimeout(milliseconds: 0)
        defer { try? barrier.setBusyTimeout(milliseconds: options.busyTimeoutMilliseconds) }
        let wait = waitMilliseconds ?? options.barrierWaitMilliseconds
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, wait)) * 1_000_000
        var lastCall: UInt64 = 0
        while true {
            do {
                try barrier.execute("BEGIN IMMEDIATE")
                return true
            } catch let e as SQLiteError where e.isBusy {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { return false }
                if let whileWaiting, now - lastCall >= 1_000_000 {
                    try whileWaiting(unreadFrames())
                    lastCall = DispatchTime.now().uptimeNanoseconds
                } else {
                    usleep(200)
                }
            }
        }
    }
}
