// swift-tools-version:6.0
import PackageDescription

// The guest starts inside every sandbox, so it is a fully static executable (glibc too):
// no dynamic loader, no relocations of a 20 MB PIE, no libraries to find — 1.1 ms to its
// first instruction's exit against 2.6 ms with only the Swift runtime static (measured
// here, p10 of 60) — and it runs in any image, with or without a libc (DESIGN.md §6). It
// keeps full Foundation (and ICU) out. (`airlock` links dynamically in a debug build; a
// static Swift runtime for it needs the `--static-swift-stdlib` build flag, which
// scripts/install.sh passes.) FoundationEssentials' static archive needs its two helper
// archives named explicitly.
let staticStdlib: [LinkerSetting] = [
    .unsafeFlags(["-static-executable", "-Xlinker", "-l_FoundationCollections",
                  "-Xlinker", "-l_FoundationCShims"]),
]

let package = Package(
    name: "airlock",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "airlock", targets: ["airlock"]),
        .executable(name: "airlock-guest", targets: ["airlock-guest"]),
        .executable(name: "airlock-bench", targets: ["airlock-bench"]),
        .executable(name: "airlock-exec", targets: ["airlock-exec"]),
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
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // Wire types between harness and guest; nothing else.
        .target(name: "AirlockProtocol"),

        // Small C shims: fork/exec with process groups, uid changes and cgroup placement.
        .target(name: "CAirlockSys"),
        // Seccomp BPF generation through libseccomp (harness side only).
        .target(name: "CAirlockSeccomp", linkerSettings: [.linkedLibrary("seccomp")]),

        // Byte streams multiplexed over the guest channel (egress connections): the same
        // windowed pump on both sides.
        .target(name: "AirlockStreams", dependencies: ["AirlockProtocol", "CAirlockSys"]),

        // The in-sandbox side of the protocol.
        .target(name: "AirlockGuest", dependencies: ["AirlockProtocol", "AirlockStreams", "CAirlockSys"]),
        .executableTarget(name: "airlock-guest", dependencies: ["AirlockGuest"],
                          linkerSettings: staticStdlib),

        // zlib's inflate and openat2 for the image unpacker (macros Swift cannot call).
        .target(name: "CAirlockImages", linkerSettings: [.linkedLibrary("z")]),
        // The image store and its hostile-input-proof unpacker (OCI layout, docker archive).
        .target(name: "AirlockImages", dependencies: [
            "CAirlockImages", "AirlockSandbox", .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // The sandbox interface the core sees: backend and sandbox protocols, the
        // configuration value, errors, and the harness end of the guest connection.
        .target(name: "AirlockSandbox",
                dependencies: ["AirlockProtocol", "AirlockStreams", "CAirlockSys"]),
        // Host-side pieces the backends share: cgroups, seccomp, spawning, the sandbox uid,
        // the staged guest binary, host probing.
        .target(name: "AirlockSandboxHost",
                dependencies: ["AirlockSandbox", "AirlockProtocol", "AirlockStreams", "CAirlockSys", "CAirlockSeccomp"]),
        // Backends, one module each (only `airlock`, `airlock-exec`, the bench and tests wire them).
        .target(name: "AirlockBubblewrap",
                dependencies: ["AirlockSandbox", "AirlockSandboxHost", "AirlockProtocol", "CAirlockSys"]),
        .target(name: "AirlockLandlock",
                dependencies: ["AirlockSandbox", "AirlockSandboxHost", "CAirlockSys"]),
        .target(name: "AirlockOCI",
                dependencies: ["AirlockSandbox", "AirlockSandboxHost", "CAirlockSeccomp"]),

        // `airlock exec` without the harness: argv's common forms read without ArgumentParser,
        // one sandbox, one command. FoundationEssentials only, like everything it imports.
        .target(name: "AirlockExec", dependencies: ["AirlockSandbox", "AirlockProtocol"]),
        // The installed `airlock` command: a small, fully static executable that runs `exec`
        // on the bwrap and Landlock tiers itself and hands every other command (and every
        // `exec` it cannot decide) to the full `airlock` beside it. `exec` is run once per
        // sandbox; the full harness's start-up alone was a third of each (docs/benchmarks.md).
        .executableTarget(name: "airlock-exec", dependencies: [
            "AirlockExec", "AirlockSandbox", "AirlockSandboxHost", "AirlockBubblewrap", "AirlockLandlock",
        ], linkerSettings: staticStdlib),

        // Sandboxes as Kubernetes pods: a small client of our own (kubeconfig, REST, exec
        // over WebSocket) and the backend that runs the guest in a hardened pod.
        .target(name: "AirlockKubernetes", dependencies: [
            "AirlockSandbox", "AirlockSandboxHost", "AirlockProtocol", "CAirlockSys",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),

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

        // JSON Schema draft 2020-12 validation (tool arguments, MCP tool schemas).
        .target(name: "AirlockSchema", dependencies: ["AirlockModels"]),

        // The loop, tools and schemas, budgets, ledger and store.
        .target(name: "AirlockCore", dependencies: [
            "AirlockSchema", "AirlockProtocol", "AirlockSandbox", "AirlockModels", "AirlockEgress", "CAirlockSys",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // OTLP/HTTP span export (protobuf via swift-protobuf, or JSON): live, batched, retried.
        .target(name: "AirlockOTLP", dependencies: [
            "AirlockCore",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CompressNIO", package: "compress-nio"),
        ]),

        // The Prometheus backend for swift-metrics and the `/metrics` exposition.
        .target(name: "AirlockPrometheus", dependencies: [
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),

        // The MCP client: servers inside the sandbox over the guest's stdio frames.
        .target(name: "AirlockMCP", dependencies: [
            "AirlockCore", "AirlockSandbox", "AirlockProtocol", "AirlockModels", "AirlockSchema",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),

        // The run store in one SQLite file (GRDB): the embedded default.
        .target(name: "AirlockStoreSQLite", dependencies: [
            "AirlockCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),

        // The run store on PostgreSQL (shared by harness replicas), through postgres-nio.
        .target(name: "AirlockStorePostgres", dependencies: [
            "AirlockCore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),

        // `airlock serve`: runs, transcripts and pending approvals as a small web page.
        .target(name: "AirlockServe", dependencies: [
            "AirlockCore", "AirlockPrometheus",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),

        // Commands: the only place that wires backends and providers to the core.
        .executableTarget(name: "airlock", dependencies: [
            "AirlockExec", "AirlockCore", "AirlockSandbox", "AirlockModels", "AirlockProtocol",
            "AirlockEgress", "AirlockServe", "AirlockImages", "AirlockSchema", "AirlockMCP", "AirlockOTLP", "AirlockPrometheus",
            "AirlockStoreSQLite", "AirlockStorePostgres",
            "AirlockSandboxHost", "AirlockBubblewrap", "AirlockLandlock", "AirlockOCI", "AirlockKubernetes",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Benchmarks: run on demand, print medians and ratios against raw baselines.
        .executableTarget(name: "airlock-bench", dependencies: [
            "AirlockSandbox", "AirlockProtocol", "CAirlockSys", "AirlockCore", "AirlockModels", "AirlockImages", "AirlockMCP", "AirlockOTLP",
            "AirlockStoreSQLite", "AirlockStorePostgres", "AirlockTestSupport",
            "AirlockSandboxHost", "AirlockBubblewrap", "AirlockLandlock", "AirlockOCI", "AirlockKubernetes",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),

        // Test doubles shared by the test targets: a loopback HTTP server that speaks canned
        // provider replies. Not a product; nothing outside the tests depends on it.
        .target(name: "AirlockTestSupport", dependencies: [
            "AirlockOTLP",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        .testTarget(name: "AirlockProtocolTests", dependencies: ["AirlockProtocol"]),
        .testTarget(name: "AirlockStreamsTests", dependencies: ["AirlockStreams", "AirlockProtocol", "CAirlockSys"]),
        .testTarget(name: "AirlockMCPTests", dependencies: [
            "AirlockMCP", "AirlockCore", "AirlockSandbox", "AirlockBubblewrap", "AirlockModels", "AirlockProtocol", "AirlockTestSupport",
        ], exclude: ["Servers"]),
        .testTarget(name: "AirlockSchemaTests", dependencies: ["AirlockSchema", "AirlockCore"],
                    exclude: ["JSONSchemaTestSuite"]),
        .testTarget(name: "AirlockSandboxTests",
                    dependencies: ["AirlockSandbox", "AirlockProtocol", "CAirlockSys", "AirlockTestSupport",
                                  "AirlockSandboxHost", "AirlockBubblewrap", "AirlockLandlock", "AirlockOCI"]),
        .testTarget(name: "AirlockModelsTests", dependencies: [
            "AirlockModels", "AirlockTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "AirlockCoreTests", dependencies: [
            "AirlockCore", "AirlockModels", "AirlockSandbox", "AirlockTestSupport", "AirlockEgress", "AirlockOTLP",
            "AirlockStoreSQLite", "AirlockStorePostgres",
            "AirlockSandboxHost", "AirlockBubblewrap", "AirlockLandlock", "AirlockOCI",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Attacks from inside real sandboxes, weakened-sandbox proofs, and boundary fuzzing.
        .testTarget(name: "AirlockEscapeTests", dependencies: [
            "AirlockSandbox", "AirlockProtocol", "AirlockCore", "AirlockModels", "AirlockMCP",
            "AirlockTestSupport", "CAirlockSys", "AirlockEgress", "AirlockImages", "AirlockStoreSQLite",
            "AirlockSandboxHost", "AirlockBubblewrap", "AirlockLandlock", "AirlockOCI",
        ]),
        .testTarget(name: "AirlockCLITests", dependencies: [
            "airlock", "AirlockExec", "AirlockCore", "AirlockTestSupport", "AirlockOTLP", "AirlockStoreSQLite", "AirlockStorePostgres",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
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
        // The unpacker against hostile layers, the store, and image sandboxes end to end.
        .testTarget(name: "AirlockImagesTests", dependencies: [
            "AirlockImages", "AirlockSandbox", "AirlockBubblewrap", "AirlockSandboxHost", "AirlockProtocol", "AirlockTestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Pods on a real cluster (scripts/k8s-test-cluster.sh); skipped with a reason without one.
        .testTarget(name: "AirlockKubernetesTests", dependencies: [
            "AirlockKubernetes", "AirlockSandbox", "AirlockProtocol", "AirlockCore", "AirlockModels", "AirlockTestSupport",
        ]),
        .testTarget(name: "AirlockServeTests", dependencies: [
            "AirlockServe", "AirlockCore", "AirlockTestSupport", "AirlockStoreSQLite",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
    ]
)
