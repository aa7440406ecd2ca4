import XCTest
final class CDCSQLiteTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
