import CDCCapture
import CDCCommandLine
import CDCCore

/// `cdc-agent uninstall --db PATH`.
struct UninstallCommand {
    static let help = """
        usage: cdc-agent uninstall --db PATH

        Removes the triggers, _cdc_changes and _cdc_meta, in one transaction, leaving
        the schema as it was before install. Running it again is harmless.
        """

    var databasePath: String

    static func parse(_ arguments: [String]) throws -> UninstallCommand? {
        var scanner = ArgumentScanner(command: "cdc-agent uninstall", arguments: arguments)
        if scanner.wantsHelp() { print(help); return nil }
        let db = try scanner.required("--db")
        try scanner.finish()
        return UninstallCommand(databasePath: db)
    }

    func run() throws -> ExitCode {
        let logger = Logger.standardError(label: "cdc-agent")
        let connection = try openSource(databasePath)
        let removed = try ChangeTableInstaller(connection: connection, logger: logger).uninstall()
        try connection.close()
        print(removed ? "removed change-table capture from \(databasePath)" : "change-table capture was not installed in \(databasePath); nothing to do")
        return .success
    }
}
