import Foundation

/// What kind of storage failure an error is, when it is one: the cases an operator fixes on
/// the machine (free space, file permissions) rather than in the data.
public enum StorageFailure: Hashable, Sendable {
    /// No room: `SQLITE_FULL` (SQLite's name for `ENOSPC` and short writes), or an I/O error
    /// whose `errno` is `ENOSPC`, `EDQUOT` (a quota) or `EFBIG` (the file-size limit,
    /// `RLIMIT_FSIZE`, or the file system's largest file).
    case full(reason: String)
    /// No write access: `SQLITE_READONLY` (a file opened read-only because it could not be
    /// opened for writing, a read-only mount), or an open or I/O error whose `errno` is
    /// `EACCES`, `EPERM` or `EROFS`.
    case readOnly(reason: String)
}

extension SQLiteError {
    /// The storage failure behind this error, or `nil` for any other error.
    ///
    /// SQLite reports a write that stopped short as `SQLITE_FULL` but a write refused outright
    /// as `SQLITE_IOERR_WRITE` with the `errno` kept aside (os_unix.c, `unixWrite`), so both
    /// the code and ``systemErrno`` are looked at.
    /// Source: https://www.sqlite.org/rescode.html#full, https://www.sqlite.org/rescode.html#ioerr_write
    public var storageFailure: StorageFailure? {
        let why = systemErrno != 0 ? String(cString: strerror(systemErrno)) : message
        switch code.primary {
        case .full:
            return .full(reason: systemErrno != 0 ? why : "no space left on the device, or the file reached its size limit")
        case .readOnly:
            return .readOnly(reason: message)
        case .ioError, .cantOpen, .permission:
            switch systemErrno {
            case ENOSPC, EDQUOT, EFBIG: return .full(reason: why)
            case EACCES, EPERM, EROFS: return .readOnly(reason: why)
            default:
                // SQLite reads `errno` for `sqlite3_system_errno` after its own clean-up, which
                // often resets it (3.40 reports 0 for a write refused with EFBIG), so look at
                // the files themselves before calling it an unknown I/O error.
                guard code.primary == .ioError, let path else { return nil }
                return Self.diagnoseSpace(of: path)
            }
        default:
            return nil
        }
    }

    /// A full or read-only file system, or a file at the process's file-size limit, for the
    /// database at `path` and its `-wal`, `-journal` and `-shm` files; `nil` when none is the case.
    ///
    /// A file counts as at the limit when less than one WAL frame (a 64 KiB page and its
    /// 24-byte header, the largest single write SQLite makes) fits below `RLIMIT_FSIZE`; a
    /// file system counts as full when less than that is available to this user.
    static func diagnoseSpace(of path: String) -> StorageFailure? {
        let largestWrite: UInt64 = 65_536 + 24
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            for file in [path, path + "-wal", path + "-journal", path + "-shm"] {
                var st = stat()
                if stat(file, &st) == 0, UInt64(st.st_size) + largestWrite > UInt64(limit.rlim_cur) {
                    return .full(reason: "\(file) reached the file-size limit of \(limit.rlim_cur) bytes (RLIMIT_FSIZE, ulimit -f)")
                }
            }
        }
        var fs = statvfs()
        let folder = (path as NSString).deletingLastPathComponent
        guard statvfs(folder.isEmpty ? "." : folder, &fs) == 0 else { return nil }
        // A file system the kernel remounted read-only after errors fails writes with EROFS,
        // through descriptors that were opened for writing before.
        if fs.f_flag & UInt(ST_RDONLY) != 0 { return .readOnly(reason: "the file system is mounted read-only") }
        if UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < largestWrite { return .full(reason: "no space left on the file system") }
        return nil
    }
}
