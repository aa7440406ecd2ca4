import CDCCore

/// How long the embedded event log keeps events: by age, by size, or both (the first limit
/// reached prunes). A reader whose offset falls behind what was pruned gets
/// ``EventLogError/offsetPruned`` and asks for a new snapshot epoch; it never skips silently.
public struct RetentionPolicy: Sendable, Equatable {
    /// Keep events younger than this, in milliseconds; `nil` for no age limit.
    public var maximumAgeMilliseconds: Int64?
    /// Keep at most this many bytes of event JSON; `nil` for no size limit.
    public var maximumBytes: Int64?
    /// How often the agent applies the policy, in milliseconds.
    public var intervalMilliseconds: Int64

    public init(maximumAgeMilliseconds: Int64?, maximumBytes: Int64?, intervalMilliseconds: Int64 = 60_000) {
        self.maximumAgeMilliseconds = maximumAgeMilliseconds
        self.maximumBytes = maximumBytes
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// Seven days, no size limit: the default retention of Kafka topics, which Debezium
    /// users are used to.
    public static let `default` = RetentionPolicy(maximumAgeMilliseconds: 7 * 86_400_000, maximumBytes: nil)

    /// Whether the policy ever removes anything.
    public var isUnlimited: Bool { maximumAgeMilliseconds == nil && maximumBytes == nil }
}

extension EventLog {
    /// Prunes by `policy` (one transaction; see ``prune(maximumAgeMilliseconds:maximumBytes:now:)``).
    /// - Returns: the number of events removed.
    @discardableResult
    public func apply(_ policy: RetentionPolicy, now: Int64 = EventLog.nowMilliseconds()) throws -> Int {
        guard !policy.isUnlimited else { return 0 }
        return try prune(maximumAgeMilliseconds: policy.maximumAgeMilliseconds, maximumBytes: policy.maximumBytes, now: now)
    }
}
