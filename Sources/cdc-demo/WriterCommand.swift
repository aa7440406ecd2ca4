import CDCCommandLine
import CDCWorkload
import Foundation

/// The sample service's writer, run as its own process so capture really happens across
/// processes, as it would beside a service.
struct WriterCommand {
    var database: String
    var seconds: Double
    var seed: UInt64
    var rate: Double

    init(arguments: [String]) throws {
        var scanner = ArgumentScanner(command: "cdc-demo writer", arguments: arguments)
        database = try scanner.required("--db")
        seconds = Double(try scanner.integer("--seconds", range: 1...3600) ?? 10)
        seed = UInt64(try scanner.integer("--seed", range: 0...Int64.max) ?? 42)
        rate = Double(try scanner.integer("--rate", range: 1...100_000) ?? 500)
        try scanner.finish()
    }

    /// Commits transactions at about `rate` per second for `seconds`, then prints the counts
    /// as one JSON object on standard output.
    func run() throws -> ExitCode {
        let writer = try ShopWriter(path: database, seed: seed)
        let start = Date()
        let interval = 1.0 / rate
        var next = start
        while Date().timeIntervalSince(start) < seconds {
            try writer.step()
            next += interval
            let wait = next.timeIntervalSinceNow
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
        }
        let c = writer.counts
        print(#"{"transactions":\#(c.transactions),"row_changes":\#(c.rowChanges),"rolled_back":\#(c.rolledBack),"seconds":\#(String(format: "%.1f", Date().timeIntervalSince(start)))}"#)
        return .success
    }
}
