import CDCCore

/// How one table's records map to its row images: which record field holds which column.
///
/// The rules, from SQLite's file-format document:
/// - A rowid table's record holds its columns in declaration order, leaving out VIRTUAL
///   generated columns (they are computed on read and never stored). A column that is an
///   alias for the rowid (`INTEGER PRIMARY KEY`) is stored as NULL; its value is the cell's
///   rowid (§2.3 "Representation Of SQL Tables").
/// - A WITHOUT ROWID table is an index b-tree whose record holds the primary-key columns in
///   key order first, then the other stored columns in declaration order (§2.4).
/// - A record may hold fewer fields than the table has stored columns: rows written before
///   `ALTER TABLE ADD COLUMN` keep their old length, and the missing columns read as the
///   column's declared default (https://www.sqlite.org/lang_altertable.html).
/// - A REAL-affinity column may store an integral value as an integer serial type; reading
///   it gives a real (``ColumnAffinity/realizing(_:)``).
///
/// Images follow ``TableSchema``'s columns: declaration order, generated columns left out.
public struct RowImageLayout: Hashable, Sendable {
    /// One declared column, as the layout needs it.
    public struct Column: Hashable, Sendable {
        /// How the column is kept (`PRAGMA table_xinfo`'s `hidden`: 0 stored, 2 VIRTUAL, 3 STORED).
        public enum Storage: Hashable, Sendable {
            case ordinary, virtualGenerated, storedGenerated
        }
        public var name: String
        public var affinity: ColumnAffinity
        public var storage: Storage
        /// The value a record too short to hold this column gives it (its DEFAULT, already
        /// evaluated and with the column's affinity applied; NULL without one).
        public var defaultValue: SQLiteValue

        public init(name: String, affinity: ColumnAffinity, storage: Storage = .ordinary, defaultValue: SQLiteValue = .null) {
            self.name = name
            self.affinity = affinity
            self.storage = storage
            self.defaultValue = defaultValue
        }
    }

    /// Every declared column, generated ones included, in declaration order.
    public let columns: [Column]
    /// Whether the table is WITHOUT ROWID (an index b-tree).
    public let isWithoutRowID: Bool
    /// Index into ``columns`` of the rowid alias (`INTEGER PRIMARY KEY`), if any.
    public let rowIDAliasColumn: Int?
    /// Indices into ``columns`` of the primary-key columns in key order (WITHOUT ROWID only).
    public let primaryKeyColumns: [Int]
    /// For each record field, the index into ``columns`` it holds.
    public let recordFieldColumns: [Int]
    /// For each image position, the index into ``columns`` (non-generated columns, in order).
    public let imageColumns: [Int]
    /// Whether record field i is column i and image column i is column i (no generated
    /// columns, not WITHOUT ROWID with a reordered key): the image is built in one pass.
    private let isIdentity: Bool
    /// The columns of REAL affinity, the only ones whose stored value can differ from what
    /// SQLite reads (``ColumnAffinity/realizing(_:)``).
    private let realColumns: [Int]

    /// Makes the layout of one table.
    ///
    /// - Parameters:
    ///   - columns: every declared column in declaration order.
    ///   - isWithoutRowID: whether the table is WITHOUT ROWID.
    ///   - rowIDAliasColumn: the `INTEGER PRIMARY KEY` column of a rowid table, if any.
    ///   - primaryKeyColumns: the key columns in key order (used for WITHOUT ROWID tables).
    public init(columns: [Column], isWithoutRowID: Bool, rowIDAliasColumn: Int?, primaryKeyColumns: [Int]) {
        self.columns = columns
        self.isWithoutRowID = isWithoutRowID
        self.rowIDAliasColumn = isWithoutRowID ? nil : rowIDAliasColumn
        self.primaryKeyColumns = primaryKeyColumns
        let stored = columns.indices.filter { columns[$0].storage != .virtualGenerated }
        if isWithoutRowID {
            let key = Set(primaryKeyColumns)
            recordFieldColumns = primaryKeyColumns + stored.filter { !key.contains($0) }
        } else {
            recordFieldColumns = stored
        }
        imageColumns = columns.indices.filter { columns[$0].storage == .ordinary }
        isIdentity = recordFieldColumns.elementsEqual(columns.indices) && imageColumns.elementsEqual(columns.indices)
        realColumns = columns.indices.filter { columns[$0].affinity == .real }
    }

    /// The row image of a record payload, decoded straight into the image where the layout
    /// allows (no generated columns, not WITHOUT ROWID with a reordered key): the same values
    /// as ``image(ofRecord:rowid:)`` of ``Record/decode(_:pageNumber:)``, with one array
    /// made instead of two.
    ///
    /// - Parameters:
    ///   - payload: the whole record payload (overflow joined).
    ///   - rowid: the cell's rowid (rowid tables).
    ///   - pageNumber: the page holding the cell, for errors.
    /// - Throws: ``PageDecodingError`` for an invalid record, ``RowImageError/recordTooLong``.
    public func image(ofPayload payload: ArraySlice<UInt8>, rowid: Int64?, pageNumber: UInt32?) throws -> [SQLiteValue] {
        guard isIdentity else { return try image(ofRecord: Record.decode(payload, pageNumber: pageNumber), rowid: rowid) }
        var image = try payload.withUnsafeBufferPointer {
            try Record.decode(bytes: $0, pageNumber: pageNumber, minimumCapacity: columns.count)
        }
        guard image.count <= columns.count else {
            throw RowImageError.recordTooLong(fields: image.count, storedColumns: recordFieldColumns.count)
        }
        for i in realColumns where i < image.count { image[i] = columns[i].affinity.realizing(image[i]) }
        while image.count < columns.count { image.append(columns[image.count].defaultValue) }
        if let alias = rowIDAliasColumn, let rowid { image[alias] = .integer(rowid) }
        return image
    }

    /// The number of record fields a full-length record has.
    public var storedFieldCount: Int { recordFieldColumns.count }

    /// The row image of a decoded record.
    ///
    /// - Parameters:
    ///   - record: the record's values (``Record/decode(_:pageNumber:)``).
    ///   - rowid: the cell's rowid (rowid tables); substituted for the rowid alias column.
    /// - Returns: one value per image column (``imageColumns``).
    /// - Throws: ``RowImageError/recordTooLong`` when the record holds more fields than the
    ///   table has stored columns (the schema and the page disagree).
    public func image(ofRecord record: [SQLiteValue], rowid: Int64?) throws -> [SQLiteValue] {
        guard record.count <= recordFieldColumns.count else {
            throw RowImageError.recordTooLong(fields: record.count, storedColumns: recordFieldColumns.count)
        }
        if isIdentity {
            // The same as below, without the intermediate array.
            var image: [SQLiteValue] = []
            image.reserveCapacity(columns.count)
            for (i, column) in columns.enumerated() {
                image.append(i < record.count ? column.affinity.realizing(record[i]) : column.defaultValue)
            }
            if let alias = rowIDAliasColumn, let rowid { image[alias] = .integer(rowid) }
            return image
        }
        var byColumn = [SQLiteValue](repeating: .null, count: columns.count)
        for (field, column) in recordFieldColumns.enumerated() {
            byColumn[column] = field < record.count
                ? columns[column].affinity.realizing(record[field])
                : columns[column].defaultValue
        }
        if let alias = rowIDAliasColumn, let rowid { byColumn[alias] = .integer(rowid) }
        return imageColumns.map { byColumn[$0] }
    }

    /// The number of leading record fields that form the key of a WITHOUT ROWID table's
    /// index b-tree (its primary-key columns); 0 for a rowid table.
    public var keyFieldCount: Int { isWithoutRowID ? primaryKeyColumns.count : 0 }
}

/// Why a record could not be turned into a row image.
public enum RowImageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The record holds more fields than the table has stored columns.
    case recordTooLong(fields: Int, storedColumns: Int)

    public var description: String {
        switch self {
        case .recordTooLong(let f, let n):
            return "a record holds \(f) fields but the table stores \(n) columns (the schema read does not match the page; the database may be corrupt)"
        }
    }
}
