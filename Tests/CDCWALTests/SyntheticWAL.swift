@testable import CDCWAL

/// Builds WAL bytes from the format (§4.1, §4.2), to test the reader on cases real SQLite
/// rarely leaves behind (a frame torn at every byte, a reset generation).
struct SyntheticWAL {
    var pageSize = 512
    var isBigEndian = true
    var checkpointSequence: UInt32 = 0
    var salt1: UInt32 = 0x1111_2222
    var salt2: UInt32 = 0x3333_4444
    private(set) var bytes: [UInt8] = []
    private var checksum = WALChecksum.zero

    static func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    init(pageSize: Int = 512, isBigEndian: Bool = true, salt1: UInt32 = 0x1111_2222) {
        self.pageSize = pageSize
        self.isBigEndian = isBigEndian
        self.salt1 = salt1
        var h = Self.be(isBigEndian ? WALFormat.magicBigEndian : WALFormat.magicLittleEndian)
        h += Self.be(WALFormat.formatVersion) + Self.be(UInt32(pageSize)) + Self.be(checkpointSequence)
        h += Self.be(salt1) + Self.be(salt2)
        checksum = WALChecksum.zero.adding(h[...], isBigEndian: isBigEndian)
        bytes = h + Self.be(checksum.first) + Self.be(checksum.second)
    }

    /// Appends a frame for `page` filled with `fill`; `commitSize` > 0 makes it a commit frame.
    mutating func appendFrame(page: UInt32, commitSize: UInt32 = 0, fill: UInt8 = 0xAB) {
        let head = Self.be(page) + Self.be(commitSize)
        let data = [UInt8](repeating: fill, count: pageSize)
        checksum = checksum.adding(head[...], isBigEndian: isBigEndian).adding(data[...], isBigEndian: isBigEndian)
        bytes += head + Self.be(salt1) + Self.be(salt2) + Self.be(checksum.first) + Self.be(checksum.second) + data
    }
}
