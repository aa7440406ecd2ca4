import CDCCore
import Foundation

/// Writes a text file so that a reader sees either the old file or the new one, never a part:
/// the text goes to a temporary file in the same folder, which then replaces the target with
/// `rename(2)` (atomic within one file system). node_exporter's textfile collector reads
/// `*.prom` files at every scrape, and documents exactly this way of writing them
/// (https://github.com/prometheus/node_exporter#textfile-collector); the temporary name does
/// not end in `.prom`, so the collector never reads it.
public enum MetricsFile {
    /// Replaces `path` with `text`, atomically.
    ///
    /// The file is made readable by everyone (mode 0644): the collector usually runs as
    /// another user, and the figures hold no row data. It is not fsynced: after a crash an
    /// old or missing file is harmless, and the daemon writes it again within its interval.
    /// - Throws: ``MetricsFileError/cannotWrite(path:reason:)`` (missing folder, permissions,
    ///   full disk); the temporary file is removed.
    public static func write(_ text: String, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = (folder.isEmpty ? "" : folder + "/") + ".\(name).\(getpid()).tmp"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            // The creation mode is masked by the umask; the collector needs to read the file.
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: temporary)
        } catch {
            unlink(temporary)
            throw MetricsFileError.cannotWrite(path: path, reason: (error as NSError).localizedDescription)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw MetricsFileError.cannotWrite(path: path, reason: reason)
        }
    }
}

/// The metrics file could not be written.
public enum MetricsFileError: Error, Sendable, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write the metrics file (\(reason)); check that its folder exists and is writable"
        }
    }
}
