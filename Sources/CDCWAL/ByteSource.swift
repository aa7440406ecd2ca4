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

/// A file read with `pread`-style calls through `FileHandle`, never loaded whole.
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
        Int(try handle.seekToEnd())
    }

    /// Reads up to `count` bytes at `offset`.
    public func readBytes(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count > 0 else { return [] }
        try handle.seek(toOffset: UInt64(offset))
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }

    deinit { try? handle.close() }
}
