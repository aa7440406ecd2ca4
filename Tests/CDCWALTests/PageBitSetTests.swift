@testable import CDCWAL
import XCTest

/// The page set of the ownership update: the same answers as a `Set` while a short list,
/// across the switch to bits, and past its capacity.
final class PageBitSetTests: XCTestCase {
    func testAnswersAsASetWhileSmallAcrossTheSwitchAndPastItsCapacity() {
        var random = SystemRandomNumberGenerator()
        for capacity: UInt32 in [0, 10, 1_000] {
            var bits = PageBitSet(capacity: capacity)
            var reference = Set<UInt32>()
            for n in 0..<300 {
                // Mostly small pages (repeats), some far past the capacity.
                let page = n % 7 == 0 ? UInt32.random(in: 0...100_000, using: &random) : UInt32.random(in: 0...80, using: &random)
                XCTAssertEqual(bits.insert(page), reference.insert(page).inserted, "capacity \(capacity), insert \(page)")
                for probe: UInt32 in [0, 1, 63, 64, 80, page, page &+ 1, 100_001] {
                    XCTAssertEqual(bits.contains(probe), reference.contains(probe), "capacity \(capacity), probe \(probe)")
                }
            }
            XCTAssertGreaterThan(reference.count, PageBitSet.smallLimit, "the set must have switched to bits")
        }
    }
}
