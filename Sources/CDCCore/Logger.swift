/// A logger value passed into libraries (never created inside one), in the shape of
/// swift-log: a label, a level, and a handler that writes finished lines. Executables make
/// one that writes to standard error (`CDCCommandLine`); tests pass ``silent``.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var name: String { ["debug", "info", "warning", "error"][rawValue] }
    }

    public var label: String
    public var level: Level
    private let handler: (@Sendable (Level, String) -> Void)?

    /// - Parameters:
    ///   - label: names the component in every line.
    ///   - level: the lowest level written.
    ///   - handler: receives the level and the message (without label); `nil` drops all.
    public init(label: String, level: Level = .info, handler: (@Sendable (Level, String) -> Void)?) {
        self.label = label
        self.level = level
        self.handler = handler
    }

    /// A logger that drops everything.
    public static let silent = Logger(label: "", level: .error, handler: nil)

    public func log(_ level: Level, _ message: @autoclosure () -> String) {
        guard let handler, level >= self.level else { return }
        handler(level, "\(label): \(message())")
    }

    public func debug(_ m: @autoclosure () -> String) { log(.debug, m()) }
    public func info(_ m: @autoclosure () -> String) { log(.info, m()) }
    public func warning(_ m: @autoclosure () -> String) { log(.warning, m()) }
    public func error(_ m: @autoclosure () -> String) { log(.error, m()) }
}
