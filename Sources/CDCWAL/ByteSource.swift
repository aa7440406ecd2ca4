import Foundation

/// Random-access bytes: a whole file in memory, or a file read on demand.
///
/// The WAL reader and page sources read through this so that decoding stays pure (an
/// in-memory array, for tests and fuzzing) while capture can read a growing file without
/// loading it whole (``FileByteSource``).
public protocol ByteSource {
    /// The current size in bytes (a file may grow between calls).
    func byteCount() throws -> Int
    /// Reads up to `count` bytes at byte `offset`; fewer only where the data ends.
    ///
    /// - Throws: an I/O error of the implementation.
    func readBytes(at offset: Int, count: Int) throws -> [UInt8]
}

extension Array: ByteSource where Element == UInt8 {
    /// The array's length in bytes.
    public func byteCount() -> Int { count }

    /// The bytes in `offset..<offset+count`, clipped to the array.
    public func readBytes(at offset: Int, count: Int) -> [UInt8] {
        guard offset >= 0, count > 0, offset < self.count else { return [] }
        let end = offset + Swift.min(count, self.count - offset)
        return Array(self[offset..<end])
    }
}

/// A file read with `pread(2)`, never loaded whole.
///
/// Reads go straight from the descriptor into the returned array: no seek, no `stat`, no
/// intermediate `Data` (capture reads several pages per committed transaction, so these
/// per-call costs added up to a large share of decoding).
///
/// Not `Sendable`: one owner reads it (STYLE.md habit 1).
public final class FileByteSource: ByteSource {
    /// The file's path.
    public let path: String
    private let handle: FileHandle

    /// Opens `path` for reading.
    ///
    /// - Throws: when the file cannot be opened.
    public init(path: String) throws {
        self.path = path
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        handle = h
    }

    /// The file's current size in bytes.
    public func byteCount() throws -> Int {
        var st = stat()
        guard fstat(handle.fileDescriptor, &st) == 0 else { throw Self.error(path: path) }
        return Int(st.st_size)
    }

    /// Reads up to `count` bytes at `offset`.
    public func readBytes(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count > 0 else { return [] }
        let fd = handle.fileDescriptor
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset + done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failed = n < 0
                break // 0: end of file
            }
            initialized = done
        }
        if failed { throw Self.error(path: path) }
        return bytes
    }

    /// The I/O error for the current `errno`.
    private static func error(path: String) -> Error {
        CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)])
    }

    deinit { try? handle.close() }
}
