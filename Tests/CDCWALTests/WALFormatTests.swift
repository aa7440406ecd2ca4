import CDCWAL
import XCTest

final class WALFormatTests: XCTestCase {
    /// The constants of fileformat2.html §4.1, written from the document.
    func testHeaderConstantsMatchTheFileFormatDocument() {
        XCTAssertEqual(WALFormat.headerSize, 32)
        XCTAssertEqual(WALFormat.frameHeaderSize, 24)
        XCTAssertEqual(WALFormat.magicLittleEndian, 0x377f0682)
        XCTAssertEqual(WALFormat.magicBigEndian, 0x377f0683)
        XCTAssertEqual(WALFormat.formatVersion, 3007000)
    }
}
