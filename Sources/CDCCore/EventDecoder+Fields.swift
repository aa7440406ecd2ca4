/// Reading the fields of an event line: scalars with typed errors naming the field, and the
/// small objects (`source`, `txn`, `tables`).
extension EventDecoder {
    func readInteger(_ r: inout JSONPullReader, _ field: String, _ c: DecodingContext) throws -> Int64 {
        guard let b = r.peek(), b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) else {
            _ = try r.skipValue()
            throw c.fail(field, "must be a 64-bit integer")
        }
        let (range, isInteger) = try r.readNumber()
        guard isInteger, let v = r.int64(range) else { throw c.fail(field, "must be a 64-bit integer") }
        return v
    }

    func readStringToken(_ r: inout JSONPullReader, _ field: String, _ c: DecodingContext) throws -> JSONPullReader.Token {
        guard r.peek() == UInt8(ascii: "\"") else {
            _ = try r.skipValue()
            throw c.fail(field, "must be a string")
        }
        return try r.readStringToken()
    }

    func readString(_ r: inout JSONPullReader, _ field: String, _ c: DecodingContext) throws -> String {
        guard r.peek() == UInt8(ascii: "\"") else {
            _ = try r.skipValue()
            throw c.fail(field, "must be a string")
        }
        return String(decoding: try r.readString(), as: UTF8.self)
    }

    func readBool(_ r: inout JSONPullReader, _ field: String, _ c: DecodingContext) throws -> Bool {
        guard case .bool(let b) = (r.peek() == UInt8(ascii: "t") || r.peek() == UInt8(ascii: "f")) ? try r.readLiteral() : .null else {
            _ = try r.skipValue()
            throw c.fail(field, "must be true or false")
        }
        return b
    }

    func objectReader(_ base: JSONPullReader, at range: Range<Int>, field: String, _ c: DecodingContext) throws -> JSONPullReader {
        var r = base
        r.position = range.lowerBound
        guard r.peek() == UInt8(ascii: "{") else { throw c.fail(field, "must be an object") }
        r.position += 1
        return r
    }

    func decodeSource(_ base: JSONPullReader, at range: Range<Int>, _ c: DecodingContext) throws -> SourceInfo {
        if let last = lastSource, base.bytes(in: range, equal: last.bytes) { return last.info }
        let info = try decodeSourceObject(base, at: range, c)
        lastSource = (Array(base.bytes[range]), info)
        return info
    }

    func decodeSourceObject(_ base: JSONPullReader, at range: Range<Int>, _ c: DecodingContext) throws -> SourceInfo {
        var r = try objectReader(base, at: range, field: "source", c)
        var service: String?, db: String?, mode: String?
        var first = true
        while let name = try r.nextMemberToken(first: &first) {
            if r.token(name, equals: "service") {
                guard service == nil else { throw c.fail("source.service", "duplicate member") }
                service = try readString(&r, "source.service", c)
            } else if r.token(name, equals: "db") {
                guard db == nil else { throw c.fail("source.db", "duplicate member") }
                db = try readString(&r, "source.db", c)
            } else if r.token(name, equals: "mode") {
                guard mode == nil else { throw c.fail("source.mode", "duplicate member") }
                mode = try readString(&r, "source.mode", c)
            } else {
                _ = try r.skipValue()
            }
        }
        guard let service else { throw c.fail("source.service", "missing") }
        guard let db else { throw c.fail("source.db", "missing") }
        guard let mode else { throw c.fail("source.mode", "missing") }
        guard let captureMode = CaptureMode(rawValue: mode) else { throw c.fail("source.mode", "unknown capture mode \"\(mode)\"") }
        return SourceInfo(service: service, database: db, mode: captureMode)
    }

    func decodeTransaction(_ base: JSONPullReader, at range: Range<Int>, _ c: DecodingContext) throws -> TransactionInfo {
        var r = try objectReader(base, at: range, field: "txn", c)
        var id: Int64?, index: Int64?, last: Bool?
        var first = true
        while let name = try r.nextMemberToken(first: &first) {
            if r.token(name, equals: "id") {
                guard id == nil else { throw c.fail("txn.id", "duplicate member") }
                id = try readInteger(&r, "txn.id", c)
            } else if r.token(name, equals: "index") {
                guard index == nil else { throw c.fail("txn.index", "duplicate member") }
                index = try readInteger(&r, "txn.index", c)
            } else if r.token(name, equals: "last") {
                guard last == nil else { throw c.fail("txn.last", "duplicate member") }
                last = try readBool(&r, "txn.last", c)
            } else {
                _ = try r.skipValue()
            }
        }
        guard let id else { throw c.fail("txn.id", "missing") }
        guard let index, index >= 0, index <= Int64(Int32.max) else { throw c.fail("txn.index", index == nil ? "missing" : "out of range") }
        guard let last else { throw c.fail("txn.last", "missing") }
        return TransactionInfo(id: id, index: Int(index), isLast: last)
    }

    func decodeStringArray(_ base: JSONPullReader, at range: Range<Int>, field: String, _ c: DecodingContext) throws -> [String] {
        var r = base
        r.position = range.lowerBound
        guard r.peek() == UInt8(ascii: "[") else { throw c.fail(field, "must be an array of strings") }
        r.position += 1
        var out: [String] = []
        var first = true
        while try r.nextElement(first: &first) { out.append(try readString(&r, field, c)) }
        return out
    }
}
