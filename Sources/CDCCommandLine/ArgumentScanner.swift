/// A small scanner for `--name value` and `--flag` arguments, in the shape of
/// swift-argument-parser (which we do not depend on): declare what you read, then
/// ``finish()`` rejects anything left over.
public struct ArgumentScanner {
    private var remaining: [String]
    /// The command name given to the usage messages.
    public let command: String

    /// - Parameter arguments: the arguments after the executable (and subcommand) name.
    public init(command: String, arguments: [String]) {
        self.command = command
        self.remaining = arguments
    }

    /// Whether `--help` or `-h` was given (consumed).
    public mutating func wantsHelp() -> Bool {
        let had = remaining.contains("--help") || remaining.contains("-h")
        remaining.removeAll { $0 == "--help" || $0 == "-h" }
        return had
    }

    /// Consumes a Boolean flag.
    /// - Throws: ``UsageError`` when the flag is given twice.
    public mutating func flag(_ name: String) throws -> Bool {
        guard let i = remaining.firstIndex(of: name) else { return false }
        remaining.remove(at: i)
        if remaining.contains(name) { throw UsageError("\(command): \(name) given twice") }
        return true
    }

    /// Consumes `name VALUE` or `name=VALUE`.
    /// - Throws: ``UsageError`` when the flag has no value or is repeated.
    public mutating func value(_ name: String) throws -> String? {
        var found: String?
        var i = 0
        while i < remaining.count {
            let arg = remaining[i]
            if arg == name {
                guard i + 1 < remaining.count, !remaining[i + 1].hasPrefix("--") else {
                    throw UsageError("\(command): \(name) needs a value")
                }
                guard found == nil else { throw UsageError("\(command): \(name) given twice") }
                found = remaining[i + 1]
                remaining.removeSubrange(i...(i + 1))
            } else if arg.hasPrefix(name + "=") {
                guard found == nil else { throw UsageError("\(command): \(name) given twice") }
                found = String(arg.dropFirst(name.count + 1))
                remaining.remove(at: i)
            } else {
                i += 1
            }
        }
        return found
    }

    /// Consumes every `name VALUE` and `name=VALUE` (a repeatable option), in order. A value
    /// may start with `-` (a negative number) but not with `--` (the next option).
    /// - Throws: ``UsageError`` when an occurrence has no value.
    public mutating func values(_ name: String) throws -> [String] {
        var found: [String] = []
        var i = 0
        while i < remaining.count {
            let arg = remaining[i]
            if arg == name {
                guard i + 1 < remaining.count, !remaining[i + 1].hasPrefix("--") else {
                    throw UsageError("\(command): \(name) needs a value")
                }
                found.append(remaining[i + 1])
                remaining.removeSubrange(i...(i + 1))
            } else if arg.hasPrefix(name + "=") {
                found.append(String(arg.dropFirst(name.count + 1)))
                remaining.remove(at: i)
            } else {
                i += 1
            }
        }
        return found
    }

    /// Consumes a required `name VALUE`.
    public mutating func required(_ name: String) throws -> String {
        guard let v = try value(name) else { throw UsageError("\(command): missing \(name); see \(command) --help") }
        return v
    }

    /// Consumes an integer value.
    public mutating func integer(_ name: String, range: ClosedRange<Int64>? = nil) throws -> Int64? {
        guard let text = try value(name) else { return nil }
        guard let v = Int64(text) else { throw UsageError("\(command): \(name) must be an integer, got \(text)") }
        if let range, !range.contains(v) { throw UsageError("\(command): \(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)") }
        return v
    }

    /// Consumes a comma-separated list.
    public mutating func list(_ name: String) throws -> [String]? {
        try value(name).map { $0.split(separator: ",", omittingEmptySubsequences: true).map(String.init) }
    }

    /// Consumes a duration such as `250ms`, `5s`, `10m`, `2h`, `7d`. The unit is required
    /// (`0` alone is allowed): a bare `5` is ambiguous between seconds and milliseconds.
    /// - Returns: milliseconds.
    public mutating func duration(_ name: String) throws -> Int64? {
        guard let text = try value(name) else { return nil }
        guard text == "0" || Int64(text) == nil, let ms = parseDurationMilliseconds(text) else {
            throw UsageError("\(command): \(name) must be a duration with a unit, like 500ms, 30s, 10m, 2h or 7d; got \(text)")
        }
        return ms
    }

    /// Consumes a size such as `512KB`, `64MB`, `2GB`; a bare number is bytes.
    /// - Returns: bytes.
    public mutating func size(_ name: String) throws -> Int64? {
        guard let text = try value(name) else { return nil }
        let units: [(String, Int64)] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        for (suffix, factor) in units where text.uppercased().hasSuffix(suffix) {
            if let n = Int64(text.dropLast(suffix.count)), n >= 0 { return n * factor }
        }
        if let n = Int64(text), n >= 0 { return n }
        throw UsageError("\(command): \(name) must be a size like 500MB or 2GB; got \(text)")
    }

    /// Consumes the next positional argument (one that does not start with `-`).
    public mutating func positional() -> String? {
        guard let i = remaining.firstIndex(where: { !$0.hasPrefix("-") }) else { return nil }
        return remaining.remove(at: i)
    }

    /// - Throws: ``UsageError`` naming the first argument nobody consumed.
    public func finish() throws {
        if let extra = remaining.first {
            throw UsageError("\(command): unknown argument \(extra); see \(command) --help")
        }
    }
}

/// Parses `500ms`, `30s`, `10m`, `2h`, `7d` or a bare number of seconds into milliseconds.
public func parseDurationMilliseconds(_ text: String) -> Int64? {
    let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        if let n = Int64(text.dropLast(suffix.count)), n >= 0 { return n * factor }
    }
    if let n = Int64(text), n >= 0 { return n * 1000 }
    return nil
}
