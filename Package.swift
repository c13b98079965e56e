// swift-tools-version:6.0
import PackageDescription

// Statically linking the Swift runtime halves process start-up (DESIGN.md §6); the guest
// starts inside every sandbox, so it is linked that way and keeps full Foundation (and
// ICU) out. (`airlock` links dynamically: a static full Foundation needs the
// `--static-swift-stdlib` build flag, which this manifest cannot set for one target.)
// FoundationEssentials' static archive needs its two helper archives named explicitly.
let staticStdlib: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-Xlinker", "-l_FoundationCollections",
                  "-Xlinker", "-l_FoundationCShims"]),
]

let package = Package(
    name: "airlock",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "airlock", targets: ["airlock"]),
        .executable(name: "airlock-guest", targets: ["airlock-guest"]),
        .executable(name: "airlock-bench", targets: ["airlock-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Wire types between harness and guest; nothing else.
        .target(name: "AirlockProtocol"),

        // Small C shims: fork/exec with process groups, uid changes and cgroup placement.
        .target(name: "CAirlockSys"),
        // Seccomp BPF generation through libseccomp (harness side only).
        .target(name: "CAirlockSeccomp", linkerSettings: [.linkedLibrary("seccomp")]),

        // The in-sandbox side of the protocol.
        .target(name: "AirlockGuest", dependencies: ["AirlockProtocol", "CAirlockSys"]),
        .executableTarget(name: "airlock-guest", dependencies: ["AirlockGuest"],
                          linkerSettings: staticStdlib),

        // Sandbox backends, cgroups, seccomp, and the harness end of the guest connection.
        .target(name: "AirlockSandbox",
                dependencies: ["AirlockProtocol", "CAirlockSys", "CAirlockSeccomp"]),

        // LanguageModel protocol; scripted, OpenAI and Anthropic providers.
        .target(name: "AirlockModels", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),

        // The egress proxy outside the sandbox: allow-list, resolution, CONNECT and
        // absolute-URI forwarding, secret substitution behind a per-run CA.
        .target(name: "AirlockEgress", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // The loop, tools and schemas, budgets, ledger and store.
        .target(name: "AirlockCore", dependencies: [
            "AirlockProtocol", "AirlockSandbox", "AirlockModels", "AirlockEgress", "CAirlockSys",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
        ]),

        // The run store in one SQLite file (GRDB): the embedded default.
        .target(name: "AirlockStoreSQLite", dependencies: [
            "AirlockCore",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),

        // The run store on PostgreSQL (shared by harness replicas), through postgres-nio.
        .target(name: "AirlockStorePostgres", dependencies: [
            "AirlockCore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),

        // `airlock serve`: runs, transcripts and pending approvals as a small web page.
        .target(name: "AirlockServe", dependencies: [
            "AirlockCore",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),

        // Commands: the only place that wires backends and providers to the core.
        .executableTarget(name: "airlock", dependencies: [
            "AirlockCore", "AirlockSandbox", "AirlockModels", "AirlockProtocol",
            "AirlockEgress", "AirlockServe", "AirlockStoreSQLite", "AirlockStorePostgres",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks: run on demand, print medians and ratios against raw baselines.
        .executableTarget(name: "airlock-bench", dependencies: [
            "AirlockSandbox", "AirlockProtocol", "CAirlockSys", "AirlockCore", "AirlockModels",
            "AirlockStoreSQLite", "AirlockStorePostgres", "AirlockTestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),

        // Test doubles shared by the test targets: a loopback HTTP server that speaks canned
        // provider replies. Not a product; nothing outside the tests depends on it.
        .target(name: "AirlockTestSupport", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        .testTarget(name: "AirlockProtocolTests", dependencies: ["AirlockProtocol"]),
        .testTarget(name: "AirlockSandboxTests",
                    dependencies: ["AirlockSandbox", "AirlockProtocol", "CAirlockSys", "AirlockTestSupport"]),
        .testTarget(name: "AirlockModelsTests", dependencies: [
            "AirlockModels", "AirlockTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "AirlockCoreTests", dependencies: [
            "AirlockCore", "AirlockModels", "AirlockSandbox", "AirlockTestSupport", "AirlockEgress",
            "AirlockStoreSQLite", "AirlockStorePostgres",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Attacks from inside real sandboxes, weakened-sandbox proofs, and boundary fuzzing.
        .testTarget(name: "AirlockEscapeTests", dependencies: [
            "AirlockSandbox", "AirlockProtocol", "AirlockCore", "AirlockModels",
            "AirlockTestSupport", "CAirlockSys", "AirlockEgress", "AirlockStoreSQLite",
        ]),
        .testTarget(name: "AirlockCLITests", dependencies: [
            "AirlockCore", "AirlockTestSupport", "AirlockStoreSQLite", "AirlockStorePostgres",
        ]),
        .testTarget(name: "AirlockEgressTests", dependencies: [
            "AirlockEgress",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "AirlockServeTests", dependencies: [
            "AirlockServe", "AirlockCore", "AirlockTestSupport", "AirlockStoreSQLite",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
    ]
)
