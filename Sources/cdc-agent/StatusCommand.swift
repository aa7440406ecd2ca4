import CDCCapture
import CDCCommandLine
import Foundation

/// `cdc-agent status --db PATH --log EVENTS.db [--json]`.
struct StatusCommand {
    static let help = """
        usage: cdc-agent status --db PATH --log EVENTS.db [--json]

        Prints where capture stands, read-only (safe while the agent runs): the source LSN
        (the highest LSN whose capture position the agent stored) and what is still pending
        at the source (change rows in trigger mode, unread WAL frames in WAL mode), the log's
        last LSN, each known sink's offset and lag in events and seconds (sinks that
        acknowledge to the log), whether a snapshot epoch (resync) is running, and the
        agent's last error. `cdc-agent run --metrics-file` writes the same figures for
        Prometheus. docs/operations.md explains each figure.
          --db PATH      the source database, as given to cdc-agent run
          --log PATH     its event log
          --json         print one JSON object instead of the table
        exit status: 0 printed, 2 usage or input error (a missing file, a file that is not
        an event log, the log of another database)
        """

    var databasePath: String
    var logPath: String
    var json: Bool

    /// Scans the arguments; `nil` after printing `--help`.
    static func parse(_ arguments: [String]) throws -> StatusCommand? {
        var scanner = ArgumentScanner(command: "cdc-agent status", arguments: arguments)
        if scanner.wantsHelp() { print(help); return nil }
        let db = try scanner.required("--db")
        let log = try scanner.required("--log")
        let json = try scanner.flag("--json")
        try scanner.finish()
        return StatusCommand(databasePath: db, logPath: log, json: json)
    }

    func run() throws -> ExitCode {
        print(try AgentStatus.read(databasePath: databasePath, logPath: logPath).render(json: json))
        return .success
    }
}
