import CDCCore
import CDCSQLite
@testable import CDCTransport
import Foundation
import XCTest

/// Snapshot requests with keys (issue 4, point 5), and logs made before keys existed.
final class SnapshotRequestTests: XCTestCase {
    func testKeysKeepEveryStorageClassAndOldLogsStayReadable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-requests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("events.db").path
        _ = try EventLog(path: path, create: true)

        // A log made before the keys column: the requests table as it was, with a request.
        let raw = try Connection(path: path)
        try raw.execute("""
            DROP TABLE cdc_snapshot_requests;
            CREATE TABLE cdc_snapshot_requests(id INTEGER PRIMARY KEY, requested_ms INTEGER NOT NULL, requester TEXT NOT NULL, tables TEXT NOT NULL, served_epoch INTEGER);
            INSERT INTO cdc_snapshot_requests(requested_ms, requester, tables) VALUES (1, 'old sink', 'a' || char(10) || 'b');
            """)
        let reader = try EventLog(path: path, readOnly: true)
        XCTAssertEqual(try reader.pendingSnapshotRequests(), [SnapshotRequest(id: 1, requester: "old sink", tables: ["a", "b"])])

        // A keyed request adds the column; every storage class comes back exactly.
        let keys: [[SQLiteValue]] = [[.integer(Int64.min)], [.real(-0.0)], [.text(Array("a\u{0}b".utf8))], [.blob([0, 1, 255])],
                                     [.text([0xFF])], [.integer(7), .string("x")], [.real(.infinity)]]
        let log = try EventLog(path: path)
        let id = try log.requestSnapshot(requester: "cdc-agent resnapshot", tables: ["a"], keys: keys)
        let pending = try EventLog(path: path, readOnly: true).pendingSnapshotRequests()
        XCTAssertEqual(pending.count, 2)
        XCTAssertNil(pending[0].keys, "a request from before keys is a whole-table one")
        XCTAssertEqual(pending[1].id, id)
        XCTAssertEqual(pending[1].keys?.count, keys.count)
        for (got, want) in zip(pending[1].keys ?? [], keys) {
            XCTAssertEqual(got.count, want.count)
            for (g, w) in zip(got, want) {
                if case .real(let a) = g, case .real(let b) = w { XCTAssertEqual(a.bitPattern, b.bitPattern) } else { XCTAssertEqual(g, w) }
            }
        }
        try log.markSnapshotRequestsServed([1, id], epoch: LSN(5))
        XCTAssertEqual(try log.servedEpoch(ofRequest: id), LSN(5))
        XCTAssertEqual(try log.pendingSnapshotRequests(), [])
    }
}
