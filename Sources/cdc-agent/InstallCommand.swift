import CDCCapture
import CDCCommandLine
import CDCCore
import CDCSQLite
import Foundation

/// `cdc-agent install --db PATH [--tables a,b]`.
struct InstallCommand {
    static let help = """
        usage: cdc-agent install --db PATH [--tables a,b]

        Creates _cdc_meta, _cdc_changes and AFTER INSERT/UPDATE/DELETE triggers for each
        captured table, in one transaction (a failure changes nothing). Default: every user
        table. Running it again is harmless; a new --tables list adds and removes triggers.
        """

    var databasePath: String
    var tables: [String]?

    /// Parses the arguments; `nil` after printing help.
    static func parse(_ arguments: [String]) throws -> InstallCommand? {
        var scanner = ArgumentScanner(command: "cdc-agent install", arguments: arguments)
        if scanner.wantsHelp() { print(help); return nil }
        let db = try scanner.required("--db")
        let tables = try scanner.list("--tables")
        try scanner.finish()
        if let tables, tables.isEmpty { throw UsageError("cdc-agent install: --tables needs at least one table name") }
        return InstallCommand(databasePath: db, tables: tables)
    }

    func run() throws -> ExitCode {
        let logger = Logger.standardError(label: "cdc-agent")
        let connection = try openSource(databasePath)
        let report = try ChangeTableInstaller(connection: connection, logger: logger).install(tables: tables)
        try connection.close()
        print("installed change-table capture in \(databasePath): \(report.capturedTables.count) table(s) captured (\(report.addedTables.count) added, \(report.removedTables.count) removed, \(report.rebuiltTables.count) rebuilt); install id \(report.installID)")
        return .success
    }
}

/// Opens an existing source database read-write, with a clear error for a missing path.
func openSource(_ path: String) throws -> Connection {
    guard path.hasPrefix("file:") || FileManager.default.fileExists(atPath: path) else {
        throw SQLiteError(code: .cantOpen, message: "no such file", path: path)
    }
    if !path.hasPrefix("file:"), ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) == 0 {
        throw UsageError("\(path): the file is empty, not a service database (is the path right?)")
    }
    return try Connection(path: path, mode: .readWrite)
}
