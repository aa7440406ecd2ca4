/// Gives whole database pages by number, as one consistent snapshot.
///
/// Source: SQLite, "Database File Format" §1.2 Pages (1-based numbers, page N at byte
/// (N−1)·pageSize of the file) and §4.5 Reader Algorithm for WAL snapshots
/// (https://www.sqlite.org/fileformat2.html).
public protocol PageSource {
    /// The page size in bytes.
    var pageSize: Int { get }
    /// The database size in pages in this snapshot; valid page numbers are 1...size.
    var databaseSizeInPages: UInt32 { get }
    /// The page's bytes, exactly ``pageSize`` of them.
    ///
    /// - Throws: ``PageDecodingError`` with kind `.pageOutOfRange` or `.pageMissing`, or the
    ///   underlying source's I/O error.
    func page(_ number: UInt32) throws -> [UInt8]
}

extension PageSource {
    /// Checks that `number` is a page of this snapshot.
    func checkRange(_ number: UInt32) throws {
        guard number >= 1, number <= databaseSizeInPages else {
            throw PageDecodingError(.pageOutOfRange(databaseSizeInPages: databaseSizeInPages), pageNumber: number)
        }
    }

    /// Reads page `number` from a database file laid out as §1.2 describes.
    func readFilePage(_ number: UInt32, from file: some ByteSource) throws -> [UInt8] {
        let bytes = try file.readBytes(at: (Int(number) - 1) * pageSize, count: pageSize)
        guard bytes.count == pageSize else { throw PageDecodingError(.pageMissing, pageNumber: number) }
        return bytes
    }
}

/// Pages of a database file alone (no WAL, or a WAL fully checkpointed).
public struct DatabaseFilePageSource<File: ByteSource>: PageSource {
    /// The database file.
    public let file: File
    /// The page size in bytes, from the header.
    public let pageSize: Int
    /// The in-header size when valid, else the file size divided by the page size.
    public let databaseSizeInPages: UInt32

    /// Reads the header of `file`.
    ///
    /// - Throws: ``PageDecodingError`` when the file is shorter than a header (`.notADatabase`)
    ///   or the header is invalid.
    public init(file: File) throws {
        guard let header = try DatabaseHeader.decode(try file.readBytes(at: 0, count: DatabaseHeader.size)[...]) else {
            throw PageDecodingError(.notADatabase, pageNumber: 1, offset: 0)
        }
        self.file = file
        pageSize = header.pageSize
        let pagesInFile = UInt32(clamping: try file.byteCount() / header.pageSize)
        databaseSizeInPages = header.isDatabaseSizeValid ? min(header.databaseSizeInPages, pagesInFile) : pagesInFile
    }

    /// The page from the file.
    public func page(_ number: UInt32) throws -> [UInt8] {
        try checkRange(number)
        return try readFilePage(number, from: file)
    }
}

/// Pages as a reader sees them at one WAL commit: the newest committed frame of the page at
/// or before that commit, else the database file.
///
/// Frames' pages come from the page map's frame cache when it holds them (the reader's
/// verified pages, and pages earlier snapshots of the same map read), else from the WAL file,
/// and are then kept in that cache when the frame's header names this generation's salts.
///
/// Source: SQLite, "Database File Format" §4.5 Reader Algorithm
/// (https://www.sqlite.org/fileformat2.html#walread).
public struct WALSnapshotPageSource<File: ByteSource, WAL: ByteSource>: PageSource {
    /// The database file.
    public let file: File
    /// The WAL file.
    public let wal: WAL
    /// The committed frames known.
    public let pageMap: WALPageMap
    /// The commit this snapshot shows.
    public let commit: WALPageMap.Commit
    /// The page size in bytes, from the WAL header.
    public let pageSize: Int
    /// The database size in pages after ``commit``.
    public var databaseSizeInPages: UInt32 { commit.databaseSizeInPages }
    /// The WAL header's salts: the generation whose frames the page map lists.
    private let salt1: UInt32
    private let salt2: UInt32

    /// Makes the snapshot at `commit`.
    ///
    /// - Throws: ``PageDecodingError`` `.pageSizeMismatch` when the database file's header
    ///   names another page size than the WAL's (an empty database file is accepted).
    public init(file: File, wal: WAL, walHeader: WALHeader, pageMap: WALPageMap, commit: WALPageMap.Commit) throws {
        // The check reads the file's header: once per generation for a file object (the
        // capture makes two snapshots per transaction of the same file).
        let fileObject = Self.object(file)
        if fileObject.map({ !pageMap.frameCache.hasCheckedPageSize(of: $0, pageSize: walHeader.pageSize) }) ?? true {
            if let header = try DatabaseHeader.decode(try file.readBytes(at: 0, count: DatabaseHeader.size)[...]),
               header.pageSize != walHeader.pageSize {
                throw PageDecodingError(.pageSizeMismatch(walPageSize: walHeader.pageSize, databasePageSize: header.pageSize), pageNumber: 1)
            }
            if let fileObject { pageMap.frameCache.setCheckedPageSize(of: fileObject, pageSize: walHeader.pageSize) }
        }
        self.file = file
        self.wal = wal
        self.pageMap = pageMap
        self.commit = commit
        pageSize = walHeader.pageSize
        salt1 = walHeader.salt1
        salt2 = walHeader.salt2
    }

    /// `file` as an object, when it is one (a class instance, such as ``FileByteSource``).
    ///
    /// Not `file as AnyObject`: for a generic value that goes through the runtime's bridging
    /// path (a boxing cast), a cost paid twice per captured transaction.
    private static func object(_ file: File) -> AnyObject? {
        guard File.self is AnyObject.Type, MemoryLayout<File>.size == MemoryLayout<AnyObject>.size else { return nil }
        return unsafeBitCast(file, to: AnyObject.self) // safe: File is a class type, so the value is one reference
    }

    /// The page from its newest frame at or before ``commit``, else from the file.
    public func page(_ number: UInt32) throws -> [UInt8] {
        try checkRange(number)
        guard let frame = pageMap.frame(forPage: number, atOrBeforeFrame: commit.frameIndex) else {
            return try readFilePage(number, from: file)
        }
        let cache = pageMap.frameCache
        if let kept = cache.page(atFrame: frame.frameIndex, salt1: salt1, salt2: salt2), kept.count == pageSize {
            return kept
        }
        // The frame's header comes with its page (one read), so that only a frame of this
        // generation, for this page, enters the cache.
        let bytes = try wal.readBytes(at: frame.offset, count: WALFormat.frameHeaderSize + pageSize)
        guard bytes.count == WALFormat.frameHeaderSize + pageSize else { throw PageDecodingError(.pageMissing, pageNumber: number) }
        let page = Array(bytes[WALFormat.frameHeaderSize...])
        if let header = WALFrameHeader.decode(bytes[..<WALFormat.frameHeaderSize]),
           header.salt1 == salt1, header.salt2 == salt2, header.pageNumber == number {
            cache.insert(page, atFrame: frame.frameIndex, salt1: salt1, salt2: salt2)
        }
        return page
    }
}
