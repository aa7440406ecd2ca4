import CDCTestSupport
import Foundation
import XCTest

/// The demo, short, in both capture modes: agent, sink and writer as real processes, ending
/// with replica-check consistent (the demo's own exit status says so).
final class DemoTests: XCTestCase {
    func testTheDemoEndsConsistentInBothModes() throws {
        for mode in ["triggers", "wal"] {
            let dir = try TemporaryDirectory(prefix: "demo-\(mode)")
            let out = try runProgram(Products.binDirectory.appendingPathComponent("cdc-demo").path,
                                     ["--mode", mode, "--seconds", "2", "--rate", "200", "--dir", dir.path("run")],
                                     timeoutSeconds: 300)
            XCTAssertEqual(out.status, 0, "\(mode): \(out.standardOutput.suffix(2000))\(out.standardError)")
            XCTAssertTrue(out.standardOutput.contains("consistent: the read model equals its source"), "\(mode): \(out.standardOutput.suffix(2000))")
        }
    }
}
