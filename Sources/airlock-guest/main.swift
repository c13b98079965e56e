import AirlockGuest

// The sandbox's first process. `--workspace DIR` exists for tests; inside a sandbox the
// workspace is always /workspace.
var workspace = "/workspace"
let arguments = CommandLine.arguments
if let index = arguments.firstIndex(of: "--workspace"), index + 1 < arguments.count {
    workspace = arguments[index + 1]
}
if arguments.contains("--help") {
    print("""
    airlock-guest: the in-sandbox side of Airlock's protocol.
    It reads newline-delimited JSON request frames on stdin and answers on stdout.
    It is started by the harness as the sandbox's first process; you do not run it yourself.
    """)
} else {
    GuestServer(workspace: workspace).serve()
}
