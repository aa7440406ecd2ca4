import Foundation

/// A fresh folder under the system temporary directory, removed in `deinit`.
public final class TemporaryDirectory {
    public let url: URL

    /// - Throws: when the folder cannot be created.
    public init(prefix: String = "cdc-test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
