import CDCCore
import Foundation

extension Logger {
    /// A logger that writes `<UTC time> <level> <label>: <message>` lines to standard error.
    /// `CDC_LOG_LEVEL=debug|info|warning|error` overrides `level`.
    public static func standardError(label: String, level: Level = .info) -> Logger {
        var lvl = level
        switch ProcessInfo.processInfo.environment["CDC_LOG_LEVEL"]?.lowercased() {
        case "debug": lvl = .debug
        case "info": lvl = .info
        case "warning": lvl = .warning
        case "error": lvl = .error
        default: break
        }
        return Logger(label: label, level: lvl) { level, message in
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            printError("\(formatter.string(from: Date())) \(level.name) \(message)")
        }
    }
}
