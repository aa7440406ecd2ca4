import CDCTestSupport
import Foundation
import XCTest

/// A short run of the WAL-capture stress (scripts/stress/wal-stress.py): a writer process
/// commits continuously with `wal_autocheckpoint=16` while another process runs TRUNCATE,
/// RESTART, FULL and PASSIVE checkpoints at random, and `cdc-agent run --mode wal` runs as a
/// daemon; afterwards the captured row changes must equal the committed ones (no resync),
/// replica-check must be consistent, and an agent restarted after the clean stop must go on
/// without a resync. `CDC_WAL_STRESS_TRANSACTIONS` sets a longer run.
final class WALStressTests: XCTestCase {
    func testWriterAndCheckpointersAgainstTheDaemonLoseNothing() throws {
        let transactions = ProcessInfo.processInfo.environment["CDC_WAL_STRESS_TRANSACTIONS"] ?? "800"
        let dir = try TemporaryDirectory(prefix: "wal-stress")
        let script = Products.repositoryRoot.appendingPathComponent("scripts/stress/wal-stress.py").path
        let out = try runProgram("python3", [script, "--bin", Products.binDirectory.path, "--transactions", transactions,
                                             "--seed", "20261201", "--dir", dir.path("run")],
                                 timeoutSeconds: 600)
        XCTAssertEqual(out.status, 0, out.standardOutput + out.standardError)
        XCTAssertTrue(out.standardOutput.contains("\"failures\": []"), out.standardOutput)
        XCTAssertTrue(out.standardOutput.contains("\"resync_epochs\": 0"), out.standardOutput)
    }
}
