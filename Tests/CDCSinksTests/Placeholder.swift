import XCTest
final class CDCSinksTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
