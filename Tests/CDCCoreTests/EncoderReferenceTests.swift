import CDCCore
import Foundation
import XCTest

/// The encoder against a plain reference: the byte-by-byte writer, value form and event
/// layout this project used before the writer was tuned for speed, kept here deliberately
/// simple (an array of comma flags, one append per byte, the standard library's UTF-8 check,
/// Foundation's base64). Every line the fast paths write must equal the reference's.
final class EncoderReferenceTests: XCTestCase {
    func testEventLinesEqualTheReferenceForASeededVarietyOfEvents() throws {
        var g = Generator(seed: 0x5EED_CDC0)
        let encoder = EventEncoder()
        for i in 0..<3000 {
            let event = g.event(lsn: Int64(i + 1))
            let expected = Reference.line(event)
            let line = event.jsonLine()
            XCTAssertEqual(line, expected, "event \(i): \(String(decoding: expected, as: UTF8.self))")
            if line != expected { return }
            XCTAssertEqual(encoder.encode(event), expected, "event \(i), cached encoder")
            // The reusable buffer with a schema placeholder, as the event log stores lines.
            let placeholder = Array(#"{"$ref":7}"#.utf8)
            let (stored, offset) = try encoder.withEncodedLine(event, schemaPlaceholder: { _ in placeholder }) { line, offset in
                (Array(line), offset)
            }
            XCTAssertEqual(expand(stored, at: offset, placeholder: placeholder, schema: event), expected, "event \(i), stored form")
            let (viaEncode, offset2) = try encoder.encode(event, schemaPlaceholder: { _ in placeholder })
            XCTAssertEqual(viaEncode, stored)
            XCTAssertEqual(offset2, offset)
        }
    }

    func testValuesEqualTheReferenceOneByOneAndInArrays() {
        var g = Generator(seed: 42)
        for _ in 0..<20_000 {
            let v = g.value()
            var w = JSONWriter(reservingCapacity: 0)
            v.write(to: &w)
            var r = ReferenceWriter()
            Reference.write(v, to: &r)
            XCTAssertEqual(w.bytes, r.bytes, "\(v)")
        }
        // Many values in one array: commas, growth of the buffer, and ill-formed text taken
        // back after a comma was written.
        var w = JSONWriter(reservingCapacity: 1)
        var r = ReferenceWriter()
        w.beginArray(); r.beginArray()
        for _ in 0..<5000 {
            let v = g.value()
            v.write(to: &w)
            Reference.write(v, to: &r)
        }
        w.endArray(); r.endArray()
        XCTAssertEqual(w.bytes, r.bytes)
    }

    func testEdgeValues() {
        let edges: [SQLiteValue] = [
            .integer(.min), .integer(.max), .integer(0), .integer(-1), .integer(9), .integer(10), .integer(99), .integer(100),
            .real(-0.0), .real(0.0), .real(1e300), .real(-1e300), .real(1.0), .real(-42.0), .real(1e16), .real(0.1),
            .real(.leastNonzeroMagnitude), .real(.greatestFiniteMagnitude), .real(.nan), .real(-.nan), .real(.infinity), .real(-.infinity),
            .text([]), .blob([]), .blob([0]), .blob([0, 1]), .blob([0, 1, 2]), .blob([0xFF, 0xFE, 0xFD, 0xFC]),
            .string("\"\\/\u{0}\u{1F}\u{7F}\n\r\t\u{8}\u{C}"), .string("😀𝄞é€"), .string(String(repeating: "a\"", count: 5000)),
            .text([0xC0, 0x80]), .text([0xED, 0xA0, 0x80]), .text([0xF4, 0x90, 0x80, 0x80]), .text([0xE2, 0x82]),
            .text(Array("abcdefgh".utf8) + [0xFF]), .text(Array(repeating: 0x41, count: 4095) + [0xE2, 0x82, 0xAC]),
        ]
        for v in edges {
            var w = JSONWriter()
            v.write(to: &w)
            var r = ReferenceWriter()
            Reference.write(v, to: &r)
            XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), String(decoding: r.bytes, as: UTF8.self))
        }
    }

    /// Deeper than the writer's 64-level bit mask, with several members on every level, and
    /// back out: the commas must come out as the reference's.
    func testDeepNestingEqualsTheReference() {
        var w = JSONWriter(reservingCapacity: 0)
        var r = ReferenceWriter()
        for depth in 0..<150 {
            if depth % 2 == 0 {
                w.beginArray(); r.beginArray()
                w.integer(depth); r.integer(Int64(depth))
                w.string("x"); r.string("x")
            } else {
                w.beginObject(); r.beginObject()
                w.key("a\(depth)"); r.key("a\(depth)")
                w.null(); r.null()
                w.key(ascii: "b"); r.key("b")
            }
        }
        for depth in (0..<150).reversed() {
            if depth % 2 == 0 {
                w.bool(true); r.bool(true)
                w.endArray(); r.endArray()
            } else {
                w.endObject(); r.endObject()
            }
            w.integer(-depth); r.integer(Int64(-depth))
        }
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), String(decoding: r.bytes, as: UTF8.self))
        // Reset and reuse: the same document again.
        let first = w.bytes
        w.reset()
        w.beginArray(); w.integer(1); w.endArray()
        XCTAssertEqual(w.bytes, Array("[1]".utf8))
        XCTAssertNotEqual(first, w.bytes)
    }

    func testSchemasEqualTheReference() {
        var g = Generator(seed: 7)
        for _ in 0..<500 {
            let schema = g.schema()
            var w = JSONWriter()
            schema.write(to: &w)
            var r = ReferenceWriter()
            Reference.write(schema, to: &r)
            XCTAssertEqual(w.bytes, r.bytes)
        }
    }

    func testTopLevelValuesAreSeparatedAsBefore() {
        var w = JSONWriter()
        w.string("a"); w.integer(1); w.rawNumber("2.5"); w.raw(Array("{}".utf8))
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #""a",1,2.5,{}"#)
        // A copy of a writer is independent of it (copy on write).
        var copy = w
        copy.null()
        w.bool(true)
        XCTAssertEqual(String(decoding: copy.bytes, as: UTF8.self), #""a",1,2.5,{},null"#)
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #""a",1,2.5,{},true"#)
        w.reset()
        XCTAssertEqual(w.bytes, [])
    }

    /// The stored line with the placeholder at `offset` replaced by the schema's JSON.
    private func expand(_ line: [UInt8], at offset: Int?, placeholder: [UInt8], schema event: Event) -> [UInt8] {
        guard let offset else { return line }
        let table: TableSchema
        switch event.body {
        case .change(let c): table = c.table
        case .schema(let s): table = s.schema
        default: return []
        }
        guard Array(line[offset..<min(line.count, offset + placeholder.count)]) == placeholder else { return [] }
        var r = ReferenceWriter()
        Reference.write(table, to: &r)
        return Array(line[..<offset]) + r.bytes + Array(line[(offset + placeholder.count)...])
    }
}

/// Random events with the awkward cases over-represented.
private struct Generator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    mutating func text() -> [UInt8] {
        let pieces: [[UInt8]] = [
            Array("plain".utf8), Array("abcdefghijklmnop".utf8), Array(" ".utf8), Array("\"".utf8), Array("\\".utf8),
            Array("é".utf8), Array("€".utf8), Array("😀".utf8), Array("𝄞".utf8), Array("\u{FEFF}".utf8), Array("\u{10FFFF}".utf8),
            [0], [0x1F], [0x7F], [0x0A], [0x0D], [0x09], [0x08], [0x0C], Array("/".utf8), Array("<\u{2028}>".utf8),
        ]
        let invalid: [[UInt8]] = [[0x80], [0xC0, 0xAF], [0xC2], [0xE0, 0x9F, 0x80], [0xED, 0xA0, 0x80], [0xF0, 0x8F, 0xBF, 0xBF],
                                  [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xE2, 0x82]]
        var out: [UInt8] = []
        let parts = pick([0, 1, 2, 3, 8, 20, 700])
        for _ in 0..<parts { out += pick(pieces) }
        if below(8) == 0 { out.insert(contentsOf: pick(invalid), at: below(out.count + 1)) }
        if below(50) == 0 { out += Array(repeating: UInt8(ascii: "z"), count: 4090 + below(20)) + pick(pieces) }
        return out
    }

    mutating func value() -> SQLiteValue {
        switch below(8) {
        case 0: return .null
        case 1: return .integer(pick([.min, .max, 0, -1, 1, 9, 10, 99, 100, 1_000_000_007, -9_007_199_254_740_993]))
        case 2: return .integer(Int64(bitPattern: next()) >> UInt64(below(64)))
        case 3:
            return .real(pick([-0.0, 0.0, 1e300, -1e300, 1.0, 2.0, -3.0, 1e16, 1e-7, 0.1, 12.34, .pi, .nan, .infinity, -.infinity,
                               .leastNonzeroMagnitude, .greatestFiniteMagnitude, Double(Int64.max)]))
        case 4: return .real(Double(bitPattern: next()))
        case 5: return .blob((0..<pick([0, 1, 2, 3, 4, 5, 16, 100])).map { _ in UInt8(truncatingIfNeeded: next()) })
        default: return .text(text())
        }
    }

    mutating func name() -> String {
        pick(["id", "name", "e-mail", "quote\"d", "back\\slash", "ctl\u{1}x", "ünï", "😀", "", "a b", "rowid_", "tab\t"])
            + (below(3) == 0 ? "\(below(100))" : "")
    }

    mutating func schema() -> TableSchema {
        var columns: [ColumnSchema] = []
        var used = Set<String>()
        let n = 1 + below(below(10) == 0 ? 60 : 8)
        var keyPositions = Array(1...n).shuffled(using: &self)[..<min(n, below(3))]
        for _ in 0..<n {
            var name = self.name()
            while used.contains(name.lowercased()) { name += "_" }
            used.insert(name.lowercased())
            let pk = keyPositions.isEmpty || below(2) == 0 ? 0 : keyPositions.removeFirst()
            columns.append(ColumnSchema(name: name, declaredType: pick(["INTEGER", "TEXT", "", "VARCHAR(\"10\")", "réal"]),
                                        primaryKeyPosition: pk, isNotNull: below(2) == 0,
                                        defaultSQL: pick([nil, "0", "'x'", "\"q\"\\", "CURRENT_TIMESTAMP"])))
        }
        // Key positions must be 1…k without gaps.
        let keyed = columns.indices.filter { columns[$0].primaryKeyPosition > 0 }.sorted { columns[$0].primaryKeyPosition < columns[$1].primaryKeyPosition }
        for (position, index) in keyed.enumerated() { columns[index].primaryKeyPosition = position + 1 }
        return TableSchema(name: pick(["customers", "order lines", "t\"q", "ü", "x\n"]), version: Int64(1 + below(5)), columns: columns,
                           isWithoutRowID: below(4) == 0)
    }

    mutating func event(lsn: Int64) -> Event {
        let source = pick([SourceInfo(service: "shop", database: "/srv/shop.db", mode: .wal),
                           SourceInfo(service: "q\"uote", database: "C:\\db\u{1}.db", mode: .triggers)])
        let body: Event.Body
        switch below(10) {
        case 0:
            let epoch = SnapshotEpoch(epoch: LSN(lsn), tables: (0..<below(4)).map { _ in name() }, reason: pick(["initial", "re\"sync"]))
            body = below(2) == 0 ? .snapshotStart(epoch) : .snapshotEnd(epoch)
        case 1: body = .heartbeat
        case 2:
            body = .schema(SchemaChange(table: name(), kind: pick(SchemaChange.Kind.allCases), previousName: below(2) == 0 ? nil : name(), schema: schema()))
        default:
            let table = schema()
            let row = { (g: inout Generator) in table.columns.map { _ in g.value() } }
            let key = table.keyNames.map { _ in value() }
            let op = pick(Operation.allCases)
            body = .change(RowChange(transaction: TransactionInfo(id: lsn - Int64(below(3)), index: below(3), isLast: below(2) == 0),
                                     table: table, operation: op, key: key,
                                     before: op == .update || op == .delete ? row(&self) : nil,
                                     after: op == .delete ? nil : row(&self)))
        }
        return Event(lsn: LSN(lsn), source: source, timestampMilliseconds: Int64(bitPattern: next()) >> 20, body: body)
    }
}

extension Generator: RandomNumberGenerator {}

/// The JSON writer as it was before it was tuned: one comma flag per open container in an
/// array, one append per byte.
private struct ReferenceWriter {
    var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    mutating func endObject() { needsComma.removeLast(); bytes.append(UInt8(ascii: "}")) }
    mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    mutating func endArray() { needsComma.removeLast(); bytes.append(UInt8(ascii: "]")) }

    mutating func key(_ name: String) {
        separate()
        appendString(Array(name.utf8))
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    mutating func string(_ value: String) { separate(); appendString(Array(value.utf8)) }
    mutating func string(utf8 value: [UInt8]) { separate(); appendString(value) }
    mutating func integer(_ value: Int64) { separate(); bytes += Array(String(value).utf8) }
    mutating func bool(_ value: Bool) { separate(); bytes += Array((value ? "true" : "false").utf8) }
    mutating func null() { separate(); bytes += Array("null".utf8) }
    mutating func rawNumber(_ token: String) { separate(); bytes += Array(token.utf8) }

    private mutating func appendString(_ utf8: [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): bytes += Array(#"\\"#.utf8)
            case 0x0A: bytes += Array(#"\n"#.utf8)
            case 0x0D: bytes += Array(#"\r"#.utf8)
            case 0x09: bytes += Array(#"\t"#.utf8)
            case 0..<0x20: bytes += Array(String(format: "\\u%04x", byte).utf8)
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// The event format (docs/events.md) written with ``ReferenceWriter``.
private enum Reference {
    static func write(_ v: SQLiteValue, to w: inout ReferenceWriter) {
        switch v {
        case .null: w.null()
        case .integer(let i): w.integer(i)
        case .real(let d):
            if d.isFinite {
                w.rawNumber(d.description)
            } else {
                w.beginObject(); w.key("$real"); w.string(d.isNaN ? "nan" : (d < 0 ? "-inf" : "inf")); w.endObject()
            }
        case .text(let b):
            if String(validating: b, as: UTF8.self) != nil {
                w.string(utf8: b)
            } else {
                w.beginObject(); w.key("$text"); w.string(Data(b).base64EncodedString()); w.endObject()
            }
        case .blob(let b):
            w.beginObject(); w.key("$blob"); w.string(Data(b).base64EncodedString()); w.endObject()
        }
    }

    static func write(_ s: TableSchema, to w: inout ReferenceWriter) {
        w.beginObject()
        w.key("version"); w.integer(s.version)
        w.key("without_rowid"); w.bool(s.isWithoutRowID)
        w.key("columns")
        w.beginArray()
        for c in s.columns {
            w.beginObject()
            w.key("name"); w.string(c.name)
            w.key("type"); w.string(c.declaredType)
            w.key("pk"); w.integer(Int64(c.primaryKeyPosition))
            w.key("notnull"); w.bool(c.isNotNull)
            w.key("default")
            if let d = c.defaultSQL { w.string(d) } else { w.null() }
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    static func line(_ e: Event) -> [UInt8] {
        var w = ReferenceWriter()
        w.beginObject()
        w.key("v"); w.integer(Int64(eventSpecVersion))
        w.key("lsn"); w.integer(e.lsn.rawValue)
        w.key("type"); w.string(e.typeName)
        w.key("source")
        w.beginObject()
        w.key("service"); w.string(e.source.service)
        w.key("db"); w.string(e.source.database)
        w.key("mode"); w.string(e.source.mode.rawValue)
        w.endObject()
        w.key("ts_ms"); w.integer(e.timestampMilliseconds)
        switch e.body {
        case .change(let c):
            w.key("txn")
            w.beginObject()
            w.key("id"); w.integer(c.transaction.id)
            w.key("index"); w.integer(Int64(c.transaction.index))
            w.key("last"); w.bool(c.transaction.isLast)
            w.endObject()
            w.key("table"); w.string(c.table.name)
            w.key("op"); w.string(c.operation.rawValue)
            w.key("schema"); write(c.table, to: &w)
            w.key("key")
            w.beginObject()
            for (name, v) in zip(c.table.keyNames, c.key) { w.key(name); write(v, to: &w) }
            w.endObject()
            for (member, image) in [("before", c.before), ("after", c.after)] {
                w.key(member)
                if let image {
                    w.beginObject()
                    for (column, v) in zip(c.table.columns, image) { w.key(column.name); write(v, to: &w) }
                    w.endObject()
                } else {
                    w.null()
                }
            }
            w.key("version"); w.integer(e.lsn.rawValue)
        case .snapshotStart(let s), .snapshotEnd(let s):
            w.key("epoch"); w.integer(s.epoch.rawValue)
            w.key("reason"); w.string(s.reason)
            w.key("tables")
            w.beginArray()
            for t in s.tables { w.string(t) }
            w.endArray()
        case .heartbeat:
            break
        case .schema(let s):
            w.key("table"); w.string(s.table)
            w.key("change"); w.string(s.kind.rawValue)
            w.key("previous"); w.string(s.previousName)
            w.key("schema"); write(s.schema, to: &w)
        }
        w.endObject()
        return w.bytes
    }
}
