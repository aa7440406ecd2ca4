import XCTest
final class CDCCoreTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
