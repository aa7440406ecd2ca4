/// Appends JSON text to a byte buffer with a fixed field order, so that equal events always
/// serialise to equal bytes (RFC 8259).
///
/// Strings must be valid UTF-8; they are written raw except for the characters RFC 8259 §7
/// requires escaped (quote, backslash, U+0000–U+001F).
///
/// The writer is on the agent's hot path (every captured row is written through it), so it
/// writes each token with one capacity check and raw stores into spare capacity, instead
/// of appending to an array byte by byte, and keeps its "needs a comma" flags in a bit mask
/// rather than a heap array.
public struct JSONWriter: Sendable {
    /// The buffer; its first `count` bytes are the JSON written so far, the rest is spare
    /// capacity that tokens are stored into directly. Shared by copies of a writer until one
    /// of them writes (copy on write). Not optional: unwrapping would retain and release it
    /// on every write.
    private var storage: JSONWriterStorage
    /// How many bytes of the buffer hold JSON.
    public private(set) var count = 0
    /// Bit `d` is set when the container at nesting depth `d` (0: the top level) already has
    /// a member, so the next member needs a comma first.
    private var commas: UInt64 = 0
    /// The nesting depth: containers begun and not yet ended.
    private var depth = 0
    /// The flags of depths 64 and deeper, which the mask has no bit for (index: depth − 64).
    private var deepCommas: [Bool] = []

    /// A writer with room for `capacity` bytes before it first grows.
    public init(reservingCapacity capacity: Int = 256) {
        storage = JSONWriterStorage(capacity: Swift.max(capacity, 16))
    }

    /// The JSON written so far.
    /// - Complexity: O(``count``): a copy of the written bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Forgets what was written, keeping the buffer's capacity for the next document.
    public mutating func reset() {
        count = 0
        commas = 0
        depth = 0
        deepCommas.removeAll()
    }

    /// Calls `body` with the JSON written so far; the pointer is valid only during the call.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeRawBufferPointer(start: storage.base, count: count)) }
    }

    /// The buffer's capacity in bytes (what a reused writer keeps between documents).
    public var capacity: Int { storage.capacity }

    // MARK: - Raw output

    /// Where the next `n` bytes go: the end of the JSON, in a buffer this writer owns alone
    /// with room for at least `n` more bytes.
    @inline(__always)
    mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if storage.capacity - count < n || !isKnownUniquelyReferenced(&storage) {
            makeRoom(n)
        }
        return storage.base + count
    }

    /// Copies the buffer when it is shared or too small, doubling its capacity as needed.
    mutating func makeRoom(_ n: Int) {
        var capacity = Swift.max(storage.capacity, 64)
        while capacity - count < n { capacity *= 2 }
        let fresh = JSONWriterStorage(capacity: capacity)
        if count > 0 { fresh.base.update(from: storage.base, count: count) }
        storage = fresh
    }

    /// Stores bytes at the end of the JSON with `body`, which gets a pointer to at least `n`
    /// free bytes and returns how many it stored.
    @inline(__always)
    mutating func store(atMost n: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        let to = reserve(n)
        count += body(to)
    }

    @inline(__always)
    mutating func appendByte(_ byte: UInt8) {
        reserve(1).pointee = byte
        count += 1
    }

    @inline(__always)
    private mutating func append(_ source: UnsafeRawBufferPointer) {
        guard let from = source.baseAddress, source.count > 0 else { return }
        UnsafeMutableRawPointer(reserve(source.count)).copyMemory(from: from, byteCount: source.count)
        count += source.count
    }

    @inline(__always)
    private mutating func append(_ source: [UInt8]) {
        source.withUnsafeBytes { append($0) }
    }

    @inline(__always)
    private mutating func append(ascii text: StaticString) {
        Self.withBytes(of: text) { append($0) }
    }

    /// The bytes of a static string; `utf8Start` directly when it has it (every literal of
    /// more than one character), since `withUTF8Buffer`'s closure is not always inlined.
    @inline(__always)
    private static func withBytes<R>(of text: StaticString, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if text.hasPointerRepresentation {
            return body(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        return text.withUTF8Buffer { body(UnsafeRawBufferPointer($0)) }
    }

    // MARK: - Structure

    /// Writes the comma that separates this value from the previous one of its container,
    /// and notes that the container now has a member.
    @inline(__always)
    mutating func separate() {
        if depth < 64 {
            let bit: UInt64 = 1 << UInt64(depth)
            if commas & bit != 0 { appendByte(UInt8(ascii: ",")) } else { commas |= bit }
        } else {
            if deepCommas[depth - 64] { appendByte(UInt8(ascii: ",")) } else { deepCommas[depth - 64] = true }
        }
    }

    /// After a member name: the value that follows takes no comma.
    @inline(__always)
    private mutating func clearComma() {
        if depth < 64 {
            commas &= ~(1 << UInt64(depth))
        } else {
            deepCommas[depth - 64] = false
        }
    }

    @inline(__always)
    private mutating func enter(_ bracket: UInt8) {
        separate()
        appendByte(bracket)
        depth += 1
        if depth < 64 { commas &= ~(1 << UInt64(depth)) } else { deepCommas.append(false) }
    }

    @inline(__always)
    private mutating func leave(_ bracket: UInt8) {
        if depth >= 64 { deepCommas.removeLast() }
        // An unbalanced end is the caller's mistake; it must not take the writer below the
        // top level.
        if depth > 0 { depth -= 1 }
        appendByte(bracket)
    }

    /// Writes `{`: the values that follow, each after a ``key(_:)``, are the object's members.
    public mutating func beginObject() { enter(UInt8(ascii: "{")) }
    /// Writes `}`, ending the innermost object.
    public mutating func endObject() { leave(UInt8(ascii: "}")) }
    /// Writes `[`: the values that follow are the array's elements.
    public mutating func beginArray() { enter(UInt8(ascii: "[")) }
    /// Writes `]`, ending the innermost array.
    public mutating func endArray() { leave(UInt8(ascii: "]")) }

    // MARK: - Member names

    /// Writes `"name":`; the next value written is the field's value.
    public mutating func key(_ name: String) {
        separate()
        appendString(name)
        appendByte(UInt8(ascii: ":"))
        clearComma()
    }

    /// Writes `"name":` for a name the caller knows needs no escaping (plain ASCII letters,
    /// digits and `_`: the event format's own member names), without examining it.
    public mutating func key(ascii name: StaticString) {
        separate()
        Self.withBytes(of: name) { name in
            let n = name.count
            store(atMost: n + 3) { to in
                to[0] = UInt8(ascii: "\"")
                if let from = name.baseAddress { UnsafeMutableRawPointer(to + 1).copyMemory(from: from, byteCount: n) }
                to[n + 1] = UInt8(ascii: "\"")
                to[n + 2] = UInt8(ascii: ":")
                return n + 3
            }
        }
        clearComma()
    }

    /// Writes a member name already encoded as `"name":` (``memberToken(_:)``); encoders
    /// keep them per schema instead of escaping every column name for every event.
    public mutating func key(token: [UInt8]) {
        separate()
        append(token)
        clearComma()
    }

    /// As ``key(token:)-([UInt8])``, for a token in a larger buffer (encoders keep a
    /// schema's member names in one); the bytes are copied before the call returns.
    public mutating func key(token: UnsafeRawBufferPointer) {
        separate()
        append(token)
        clearComma()
    }

    /// The bytes `"name":` for ``key(token:)``.
    public static func memberToken(_ name: String) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: name.utf8.count + 8)
        w.appendMemberToken(name)
        return w.bytes
    }

    /// Appends the bytes of ``memberToken(_:)`` alone: no comma, and no change to what the
    /// writer expects next (for building a buffer of tokens).
    mutating func appendMemberToken(_ name: String) {
        appendString(name)
        appendByte(UInt8(ascii: ":"))
    }

    // MARK: - Values

    /// Writes a string, escaped where RFC 8259 §7 requires it.
    public mutating func string(_ value: String) { separate(); appendString(value) }

    /// Writes a string the caller knows needs no escaping (ASCII without control characters,
    /// quotes or backslashes: the event format's own words), without examining it.
    public mutating func string(ascii value: StaticString) {
        separate()
        Self.withBytes(of: value) { value in
            let n = value.count
            store(atMost: n + 2) { to in
                to[0] = UInt8(ascii: "\"")
                if let from = value.baseAddress { UnsafeMutableRawPointer(to + 1).copyMemory(from: from, byteCount: n) }
                to[n + 1] = UInt8(ascii: "\"")
                return n + 2
            }
        }
    }

    /// Writes a string from bytes that the caller has checked are valid UTF-8. Runs of bytes
    /// that need no escape are copied whole (most text has none).
    public mutating func string(utf8 value: [UInt8]) {
        separate()
        value.withUnsafeBufferPointer { appendQuoted($0, validating: false) }
    }

    /// Writes `value` as a string when it is valid UTF-8 and returns `true`; otherwise writes
    /// nothing and returns `false`. Validation and escaping share one pass over the bytes,
    /// eight ASCII bytes at a time.
    ///
    /// Source: Unicode 15, §3.9, Table 3-7 (well-formed UTF-8); RFC 8259 §7.
    public mutating func string(validatingUTF8 value: UnsafeBufferPointer<UInt8>) -> Bool {
        let (savedCount, savedCommas) = (count, commas)
        let savedDeep = depth >= 64 ? deepCommas[depth - 64] : false
        separate()
        if appendQuoted(value, validating: true) { return true }
        // Ill-formed: take back the comma and the partial string.
        count = savedCount
        commas = savedCommas
        if depth >= 64 { deepCommas[depth - 64] = savedDeep }
        return false
    }

    /// Writes an integer's decimal digits straight into the buffer (no String in between).
    public mutating func integer(_ value: Int64) {
        separate()
        store(atMost: 20) { to in Self.storeDecimal(value, at: to) }
    }

    /// Writes an integer's decimal digits.
    public mutating func integer(_ value: Int) { integer(Int64(value)) }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) { separate(); append(ascii: value ? "true" : "false") }

    /// Writes `null`.
    public mutating func null() { separate(); append(ascii: "null") }

    /// Writes a number token verbatim (the caller guarantees it is valid JSON).
    public mutating func rawNumber(_ token: String) {
        separate()
        var token = token
        token.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends pre-encoded JSON (for example a cached schema object) as the next value.
    public mutating func raw(_ json: [UInt8]) { separate(); append(json) }

}

/// The buffer of a ``JSONWriter``: one allocation that copies of a writer share until one of
/// them writes. `@unchecked Sendable`: a buffer is only written while one writer owns it
/// alone (`isKnownUniquelyReferenced`), as an array's is.
final class JSONWriterStorage: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }
}
