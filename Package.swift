// swift-tools-version:6.0
// No package dependencies, by the product owner's rule: the toolchain (Foundation, Dispatch,
// XCTest) plus system C libraries from Debian packages through system-library targets.
import PackageDescription

let package = Package(
    name: "sqlite-cdc",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cdc-agent", targets: ["cdc-agent"]),
        .executable(name: "cdc-sink", targets: ["cdc-sink"]),
        .executable(name: "replica-check", targets: ["replica-check"]),
        .executable(name: "cdc-demo", targets: ["cdc-demo"]),
        .executable(name: "cdc-bench", targets: ["cdc-bench"]),
        // Libraries a consuming service embeds: values and events, the event log, sinks.
        .library(name: "CDCCore", targets: ["CDCCore"]),
        .library(name: "CDCTransport", targets: ["CDCTransport"]),
        .library(name: "CDCSinks", targets: ["CDCSinks"]),
    ],
    targets: [
        // Layer 1: C shims.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Layer 2: event model, no I/O.
        .target(name: "CDCCore"),
        // Layer 3: the only target that calls libsqlite3.
        .target(name: "CDCSQLite", dependencies: ["CSQLite", "CDCCore"]),
        // Layer 4: WAL and file-format decoding: pure byte parsing, no libsqlite3 (issue 3).
        .target(name: "CDCWAL", dependencies: ["CDCCore"]),
        // Layer 5: capture (change tables + snapshots; WAL capture comes with issue 3).
        .target(name: "CDCCapture", dependencies: ["CDCCore", "CDCSQLite", "CDCWAL", "CDCTransport"]),
        // Layer 6: transports (embedded event log).
        .target(name: "CDCTransport", dependencies: ["CDCCore", "CDCSQLite"]),
        // Layer 7: sinks and projections.
        .target(name: "CDCSinks", dependencies: ["CDCCore", "CDCSQLite", "CDCTransport"]),
        // Layer 8: reconciliation.
        .target(name: "CDCReconcile", dependencies: ["CDCCore", "CDCSQLite", "CDCTransport", "CDCSinks"]),
        // The sample service (schema + seeded writer) shared by the demo, the benchmark and tests.
        .target(name: "CDCWorkload", dependencies: ["CDCCore", "CDCSQLite"]),
        // Argument scanning, exit codes, logging set-up shared by the executables.
        .target(name: "CDCCommandLine", dependencies: ["CDCCore"]),
        // Layer 9: thin executables.
        .executableTarget(name: "cdc-agent", dependencies: ["CDCCommandLine", "CDCCapture", "CDCTransport", "CDCSQLite", "CDCCore"]),
        .executableTarget(name: "cdc-sink", dependencies: ["CDCCommandLine", "CDCSinks", "CDCTransport", "CDCCore"]),
        .executableTarget(name: "replica-check", dependencies: ["CDCCommandLine", "CDCReconcile", "CDCSinks", "CDCCore"]),
        .executableTarget(name: "cdc-demo", dependencies: ["CDCCommandLine", "CDCWorkload", "CDCCapture", "CDCTransport", "CDCSinks", "CDCReconcile", "CDCSQLite", "CDCCore"]),
        .executableTarget(name: "cdc-bench", dependencies: ["CDCCommandLine", "CDCWorkload", "CDCCapture", "CDCTransport", "CDCSinks", "CDCReconcile", "CDCSQLite", "CDCCore"]),

        .target(name: "CDCTestSupport", dependencies: ["CDCCore", "CDCSQLite"], path: "Tests/CDCTestSupport"),
        .testTarget(name: "CDCCoreTests", dependencies: ["CDCCore", "CDCTestSupport"]),
        .testTarget(name: "CDCWALTests", dependencies: ["CDCWAL", "CDCWorkload", "CDCSQLite", "CDCTestSupport"]),
        .testTarget(name: "CDCSQLiteTests", dependencies: ["CDCSQLite", "CDCTestSupport"]),
        .testTarget(name: "CDCCaptureTests", dependencies: ["CDCCapture", "CDCWAL", "CDCTransport", "CDCSQLite", "CDCTestSupport"]),
        .testTarget(name: "CDCTransportTests", dependencies: ["CDCTransport", "CDCSQLite", "CDCTestSupport"]),
        .testTarget(name: "CDCSinksTests", dependencies: ["CDCSinks", "CDCWorkload", "CDCTransport", "CDCSQLite", "CDCTestSupport"]),
        .testTarget(name: "CDCReconcileTests", dependencies: ["CDCReconcile", "CDCSinks", "CDCTransport", "CDCSQLite", "CDCTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["CDCWorkload", "CDCCapture", "CDCTransport", "CDCSinks", "CDCReconcile", "CDCSQLite", "CDCTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
