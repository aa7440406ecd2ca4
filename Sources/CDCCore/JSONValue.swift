/// A parsed JSON value that keeps number tokens as written, so integers beyond 2^53 and the
/// difference between `1` and `1.0` survive (RFC 8259 §6 leaves number precision to the
/// implementation; our event spec does not).
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// The number token exactly as it appeared.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order (duplicates are rejected by the parser).
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let n): hasher.combine(n)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o): for (k, v) in o { hasher.combine(k); hasher.combine(v) }
        }
    }

    /// The member named `name` of an object, or `nil`.
    public subscript(name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == name }?.1
    }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// Why a JSON text could not be parsed, with the byte offset where parsing stopped.
public struct JSONSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes, building a ``JSONValue`` tree from the pull
/// reader's tokens (configuration files, schema objects; events use ``EventDecoder``).
///
/// - Complexity: O(n) in the input length; nesting deeper than `maximumDepth` is rejected so
///   hostile input cannot exhaust the stack.
public enum JSONParser {
    public static let maximumDepth = 64

    /// Parses one JSON value that must span the whole input (surrounding whitespace allowed).
    /// - Throws: ``JSONSyntaxError``.
    public static func parse<C: Collection>(_ input: C) throws -> JSONValue where C.Element == UInt8 {
        var reader = try JSONPullReader(Array(input))
        let value = try parseValue(&reader, depth: 0)
        try reader.expectEnd()
        return value
    }

    /// Parses a JSON text given as a string.
    public static func parse(_ text: String) throws -> JSONValue { try parse(Array(text.utf8)) }

    private static func parseValue(_ r: inout JSONPullReader, depth: Int) throws -> JSONValue {
        guard depth < maximumDepth else { throw r.error("nesting deeper than \(maximumDepth)") }
        guard let c = r.peek() else { throw r.error("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"):
            r.position += 1
            var members: [(String, JSONValue)] = []
            var seen = Set<String>()
            var first = true
            while let nameBytes = try r.nextMember(first: &first) {
                let name = String(decoding: nameBytes, as: UTF8.self)
                guard seen.insert(name).inserted else { throw r.error("duplicate member \"\(name)\"") }
                members.append((name, try parseValue(&r, depth: depth + 1)))
            }
            return .object(members)
        case UInt8(ascii: "["):
            r.position += 1
            var elements: [JSONValue] = []
            var first = true
            while try r.nextElement(first: &first) { elements.append(try parseValue(&r, depth: depth + 1)) }
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(String(decoding: try r.readString(), as: UTF8.self))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(r.text(try r.readNumber().range))
        default:
            return try r.readLiteral()
        }
    }
}
