import CDCWAL
import Foundation

/// The pages of one snapshot as capture reads them: the database file alone, or the database
/// file with the current WAL generation up to a commit.
///
/// One concrete type (instead of `any PageSource`) so that the ownership update and the diff
/// run as code specialized for it rather than through an existential for every page read.
enum CapturePages: PageSource {
    /// No commit of the current generation: the database file alone.
    case file(DatabaseFilePageSource<FileByteSource>)
    /// The database file and the WAL at one commit.
    case wal(WALSnapshotPageSource<FileByteSource, FileByteSource>)

    var pageSize: Int {
        switch self {
        case .file(let s): s.pageSize
        case .wal(let s): s.pageSize
        }
    }

    var databaseSizeInPages: UInt32 {
        switch self {
        case .file(let s): s.databaseSizeInPages
        case .wal(let s): s.databaseSizeInPages
        }
    }

    func page(_ number: UInt32) throws -> [UInt8] {
        switch self {
        case .file(let s): try s.page(number)
        case .wal(let s): try s.page(number)
        }
    }
}
