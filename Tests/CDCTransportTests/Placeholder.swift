import XCTest
final class CDCTransportTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
