import CDCCapture
import CDCCommandLine
import Foundation

/// `cdc-agent resnapshot --db PATH --log EVENTS.db --table T [--table T2 …] [--keys K …] [--wait]`.
struct ResnapshotCommand {
    static let help = """
        usage: cdc-agent resnapshot --db PATH --log EVENTS.db --table T [--table T2 ...]
                                    [--keys K ...] [--wait] [--timeout 10m]

        Asks the agent for snapshot events of whole tables, or of some keys of one table,
        while it keeps streaming (both capture modes). The request is checked against the
        source, recorded in the event log, and its id printed; the running agent serves it
        (a stopped one at its next start). docs/operations.md, "Re-snapshot on demand".
          --db PATH       the source database, as given to cdc-agent run
          --log PATH      its event log (it must exist: the agent creates it)
          --table T       a source table (repeat for several); whole tables become one
                          snapshot epoch (reason "requested"), read in chunks at the
                          capture position; at its end a sink removes the table's rows the
                          epoch did not see
          --keys K        only these keys of the one --table (repeat per key), as JSON as
                          in events: 7, '"abc"', '{"$blob":"AAE="}', '{"id":7}', and for a
                          composite key '{"order_id":7,"line":2}' or '[7,2]'. Keys that
                          exist are sent as snapshot rows; a key that does not exist sends
                          nothing and removes nothing
          --wait          wait until the agent served the request, then print the LSN it
                          was served at (a whole-table request: its epoch's start marker)
          --timeout D     how long --wait waits (default 10m; the request stays recorded)
        A snapshot row never overwrites a newer streamed change at a sink: each row's version
        (its LSN) is above every change it reflects and below every later one.
        exit status: 0 recorded (and with --wait, served), 1 --wait timed out, 2 usage or
        input error (unknown table, malformed key, wrong key shape, missing --log)
        """

    var databasePath: String
    var logPath: String
    var tables: [String]
    var keys: [String]
    var wait: Bool
    var timeoutMilliseconds: Int64

    /// Scans the arguments; `nil` after printing `--help`.
    static func parse(_ arguments: [String]) throws -> ResnapshotCommand? {
        var scanner = ArgumentScanner(command: "cdc-agent resnapshot", arguments: arguments)
        if scanner.wantsHelp() { print(help); return nil }
        let db = try scanner.required("--db")
        let log = try scanner.required("--log")
        let tables = try scanner.values("--table")
        let keys = try scanner.values("--keys")
        let wait = try scanner.flag("--wait")
        let timeout = try scanner.duration("--timeout") ?? 600_000
        try scanner.finish()
        guard !tables.isEmpty else { throw UsageError("cdc-agent resnapshot: missing --table; see cdc-agent resnapshot --help") }
        return ResnapshotCommand(databasePath: db, logPath: log, tables: tables, keys: keys, wait: wait, timeoutMilliseconds: timeout)
    }

    func run() throws -> ExitCode {
        let request = try ResnapshotRequest.make(sourcePath: databasePath, tables: tables, keyArguments: keys)
        let id = try request.record(logPath: logPath, sourcePath: databasePath)
        print("snapshot request \(id) recorded")
        guard wait else { return .success }
        do {
            let lsn = try ResnapshotRequest.waitUntilServed(id: id, logPath: logPath, timeoutMilliseconds: timeoutMilliseconds)
            print("snapshot request \(id) served at LSN \(lsn)")
            return .success
        } catch let error as ResnapshotError where error.isWorkFailure {
            printError("cdc-agent resnapshot: \(error)")
            return .failure
        }
    }
}
