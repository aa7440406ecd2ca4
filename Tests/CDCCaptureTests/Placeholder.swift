import XCTest
final class CDCCaptureTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
