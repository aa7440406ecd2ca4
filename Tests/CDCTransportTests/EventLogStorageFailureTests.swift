import CDCCore
import CDCSQLite
@testable import CDCTransport
import Foundation
import XCTest

/// The log's storage failures are its own one-line errors, and a failed append stores nothing.
/// (The real full disk and read-only file, through the agent binary, are in
/// CDCCaptureTests/LogStorageFailureTests.swift.)
final class EventLogStorageFailureTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-log-storage-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try FileManager.default.removeItem(at: folder) }

    /// A log opened read-only (the connection, so this holds for root as well) refuses an
    /// append with ``EventLogError/readOnly``, naming the log, and the state is unchanged.
    func testAppendToAReadOnlyLogIsAReadOnlyError() throws {
        let path = folder.appendingPathComponent("r.db").path
        let writer = try EventLog(path: path, create: true)
        try writer.append([EventLogTests.event(1)], state: ["pos": .integer(1)])
        let reader = try EventLog(path: path, readOnly: true)
        XCTAssertThrowsError(try reader.append([EventLogTests.event(2)], state: ["pos": .integer(2)])) { error in
            guard case EventLogError.readOnly(let p, _)? = error as? EventLogError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue("\(error)".contains("writable"), "says what to do: \(error)")
        }
        XCTAssertEqual(try writer.lastLSN(), LSN(1))
        XCTAssertEqual(try writer.agentState()["pos"], .integer(1))
    }

    /// SQLite's codes and errnos map to the two failures; other errors stay what they are.
    func testStorageFailureClassification() {
        XCTAssertEqual(SQLiteError(code: .full, message: "database or disk is full").storageFailure,
                       .full(reason: "no space left on the device, or the file reached its size limit"))
        if case .full? = SQLiteError(code: ResultCode(rawValue: 778), message: "disk I/O error", systemErrno: EFBIG).storageFailure {} else { XCTFail("EFBIG is full") }
        if case .full? = SQLiteError(code: ResultCode(rawValue: 778), message: "disk I/O error", systemErrno: EDQUOT).storageFailure {} else { XCTFail("EDQUOT is full") }
        if case .readOnly? = SQLiteError(code: ResultCode(rawValue: 8), message: "attempt to write a readonly database").storageFailure {} else { XCTFail("READONLY") }
        if case .readOnly? = SQLiteError(code: .cantOpen, message: "unable to open", systemErrno: EROFS).storageFailure {} else { XCTFail("EROFS") }
        XCTAssertNil(SQLiteError(code: .busy, message: "database is locked").storageFailure)
        XCTAssertNil(SQLiteError(code: .constraint, message: "UNIQUE constraint failed").storageFailure)
        // An I/O error without errno on a file far below any limit, with space left, stays unknown.
        XCTAssertNil(SQLiteError(code: ResultCode(rawValue: 778), message: "disk I/O error", path: folder.appendingPathComponent("none.db").path).storageFailure)
    }
}
