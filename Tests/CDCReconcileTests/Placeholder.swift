import XCTest
final class CDCReconcileTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
