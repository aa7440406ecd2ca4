import CDCCommandLine
import Foundation

// cdc-demo: the whole product on one machine (README, "Run the demo").
//   cdc-demo [--seconds N] [--rate TPS] [--dir PATH]
//   cdc-demo writer --db PATH --seconds N --seed N --rate TPS   (the service's writer process)
var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "writer" {
    arguments.removeFirst()
    runCommand("cdc-demo writer") { try WriterCommand(arguments: arguments).run() }
} else {
    runCommand("cdc-demo") { try DemoCommand(arguments: arguments).run() }
}
