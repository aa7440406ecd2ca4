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

    /// Makes the snapshot at `commit`.
    ///
    /// - Throws: ``PageDecodingError`` `.pageSizeMismatch` when the database file's header
    ///   names another page size than the WAL's (an empty database file is accepted).
    public init(file: File, wal: WAL, walHeader: WALHeader, pageMap: WALPageMap, commit: WALPageMap.Commit) throws {
        if let header = try DatabaseHeader.decode(try file.readBytes(at: 0, count: DatabaseHeader.size)[...]),
           header.pageSize != walHeader.pageSize {
            throw PageDecodingError(.pageSizeMismatch(walPageSize: walHeader.pageSize, databasePageSize: header.pageSize), pageNumber: 1)
        }
        self.file = file
        self.wal = wal
        self.pageMap = pageMap
        self.commit = commit
        pageSize = walHeader.pageSize
    }

    /// The page from its newest frame at or before ``commit``, else from the file.
    public func page(_ number: UInt32) throws -> [UInt8] {
        try checkRange(number)
        if let frame = pageMap.frame(forPage: number, atOrBeforeFrame: commit.frameIndex) {
            let bytes = try wal.readBytes(at: frame.offset + WALFormat.frameHeaderSize, count: pageSize)
            guard bytes.count == pageSize else { throw PageDecodingError(.pageMissing, pageNumber: number) }
            return bytes
        }
        return try readFilePage(number, from: file)
    }
}
