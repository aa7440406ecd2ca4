import CDCSQLite
import CDCTestSupport
import Foundation
import XCTest

/// Real input (issue 2, point 11): a public dataset loaded, updated and deleted by a writer
/// program no one here wrote (sqlite-utils, from PyPI), captured, applied and checked with
/// the real binaries. The dataset is the Palmer penguins data (Horst, Hill & Gorman 2020,
/// CC0) that the palmerpenguins package ships as CSV. scripts/install-deps --tests installs both.
final class RealWriterTests: XCTestCase {
    private var dir: TemporaryDirectory!
    private var db: String { dir.path("penguins.db") }

    override func setUpWithError() throws {
        dir = try TemporaryDirectory(prefix: "real-writer")
    }

    private func penguinsDataFolder() throws -> String {
        let out = try runProgram("python3", ["-c", "import importlib.util; s = importlib.util.find_spec('palmerpenguins'); print(s.submodule_search_locations[0] if s else '')"])
        let folder = out.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !folder.isEmpty else {
            XCTFail("the palmerpenguins package is missing; run scripts/install-deps --tests")
            throw XCTSkip("palmerpenguins missing")
        }
        return folder + "/data"
    }

    /// Runs sqlite-utils and fails the test on a non-zero exit.
    private func sqliteUtils(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try runProgram("sqlite-utils", arguments)
        if out.status == 127 || out.standardError.contains("No such file") && out.standardError.contains("sqlite-utils") {
            XCTFail("sqlite-utils is missing; run scripts/install-deps --tests", file: file, line: line)
        }
        XCTAssertEqual(out.status, 0, "sqlite-utils \(arguments.joined(separator: " ")): \(out.standardError)", file: file, line: line)
    }

    private func tool(_ name: String, _ arguments: [String], expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        let out = try runProgram(Products.executable(name), arguments)
        XCTAssertEqual(out.status, status, "\(name) \(arguments.joined(separator: " ")):\n\(out.standardOutput)\n\(out.standardError)", file: file, line: line)
        return out
    }

    func testSqliteUtilsWritesArePlayedIntoAConsistentReadModel() throws {
        let data = try penguinsDataFolder()
        let log = dir.path("events.db"), replica = dir.path("read.db")

        // The service's data, written by sqlite-utils: a composite text key with odd column
        // names, and a table keyed by rowid.
        try sqliteUtils(["insert", db, "penguins", data + "/penguins-raw.csv", "--csv", "--pk", "Species", "--pk", "studyName", "--pk", "Sample Number"])
        try sqliteUtils(["enable-wal", db])
        try sqliteUtils(["insert", db, "measurements", data + "/penguins.csv", "--csv"])

        _ = try tool("cdc-agent", ["install", "--db", db])
        _ = try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"])  // the initial snapshot

        // Updates and deletes through the same tool, as a service would make them.
        try sqliteUtils(["query", db, #"UPDATE penguins SET "Comments" = 'Re-measured in 2026.' WHERE "Island" = 'Dream'"#])
        try sqliteUtils(["convert", db, "penguins", "Body Mass (g)", "str(int(value) + 1) if value not in (None, 'NA') else None"])
        try sqliteUtils(["query", db, #"DELETE FROM penguins WHERE "Island" = 'Torgersen'"#])
        let upsert = dir.path("upsert.json")
        try Data(#"""
            [{"Species": "Gentoo penguin (Pygoscelis papua)", "studyName": "PAL0708", "Sample Number": 1, "Comments": "upserted over an existing row"},
             {"Species": "Emperor penguin (Aptenodytes forsteri)", "studyName": "PAL2026", "Sample Number": 1, "Island": "Ross", "Comments": "a new row 😀"}]
            """#.utf8).write(to: URL(fileURLWithPath: upsert))
        try sqliteUtils(["upsert", db, "penguins", upsert, "--pk", "Species", "--pk", "studyName", "--pk", "Sample Number"])
        try sqliteUtils(["query", db, "DELETE FROM measurements WHERE year = 2007"])
        try sqliteUtils(["query", db, "UPDATE measurements SET sex = upper(substr(sex, 1, 1)) WHERE sex <> 'NA'"])
        try sqliteUtils(["insert", db, "measurements", data + "/penguins.csv", "--csv"])  // rowids continue

        _ = try tool("cdc-agent", ["run", "--db", db, "--log", log, "--once"])
        _ = try tool("cdc-sink", ["--log", log, "--replica", replica])
        let check = try tool("replica-check", ["--source", db, "--replica", replica, "--log", log])
        XCTAssertFalse(check.standardOutput.isEmpty)

        // Independent of replica-check: the counts the writer produced are in the read model.
        let source = try Connection(path: db, mode: .readOnly), read = try Connection(path: replica, mode: .readOnly)
        for table in ["penguins", "measurements"] {
            let expected = try source.scalar("SELECT count(*) FROM \(table)")
            XCTAssertEqual(try read.scalar("SELECT count(*) FROM \(table)"), expected, table)
        }
        XCTAssertEqual(try read.scalar(#"SELECT "Comments" FROM penguins WHERE "studyName" = 'PAL2026'"#), .string("a new row 😀"))
        XCTAssertEqual(try read.scalar(#"SELECT count(*) FROM penguins WHERE "Island" = 'Torgersen'"#), .integer(0))
    }
}
