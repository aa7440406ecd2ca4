/// A log sequence number: the agent's position for one source.
///
/// Strictly increasing in commit order for one source, never reused, also across restarts
/// (DESIGN.md, "Words"). Stored as a signed 64-bit integer because SQLite's INTEGER is one;
/// valid LSNs start at 1, and 0 means "before the first event".
public struct LSN: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ value: Int64) { self.rawValue = value }

    /// The position before any event.
    public static let zero = LSN(0)

    /// The next LSN.
    public var next: LSN { LSN(rawValue + 1) }

    public static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}
