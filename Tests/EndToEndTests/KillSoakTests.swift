import CDCTestSupport
import Foundation
import XCTest

/// A short run of the SIGKILL soak (scripts/soak/kill9.py): the agent and the sink are killed
/// at random moments under a writer and restarted; the script checks the log against the
/// writer's ledger, replays the log in Python against the source, and runs replica-check.
/// `CDC_SOAK_TRIALS` sets a longer run.
final class KillSoakTests: XCTestCase {
    func testRandomKillsOfAgentAndSinkLoseNothing() throws {
        let trials = ProcessInfo.processInfo.environment["CDC_SOAK_TRIALS"] ?? "5"
        let dir = try TemporaryDirectory(prefix: "soak")
        let script = Products.repositoryRoot.appendingPathComponent("scripts/soak/kill9.py").path
        let out = try runProgram("python3", [script, "--trials", trials, "--seed", "20261201",
                                             "--bin", Products.binDirectory.path, "--dir", dir.path("run"), "--max-seconds", "120"],
                                 timeoutSeconds: 600)
        XCTAssertEqual(out.status, 0, String(out.standardOutput.suffix(3000)) + out.standardError)
        XCTAssertTrue(out.standardOutput.contains("\"failures\": []"), String(out.standardOutput.suffix(3000)))
    }
}
