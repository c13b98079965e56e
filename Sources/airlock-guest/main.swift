import AirlockGuest
import Glibc

// The sandbox's first process. `--workspace DIR` exists for tests; inside a sandbox the
// workspace is always /workspace.
var workspace = "/workspace"
let arguments = CommandLine.arguments
if let index = arguments.firstIndex(of: "--workspace"), index + 1 < arguments.count {
    workspace = arguments[index + 1]
}
// `--cwd DIR`: where commands run when a request names no directory (an image's WorkingDir).
var directory: String?
if let index = arguments.firstIndex(of: "--cwd"), index + 1 < arguments.count {
    directory = arguments[index + 1]
}
if arguments.contains("--help") {
    print("""
    airlock-guest: the in-sandbox side of Airlock's protocol.
    It reads newline-delimited JSON request frames on stdin and answers on stdout.
    It is started by the harness as the sandbox's first process; you do not run it yourself.
    """)
} else if arguments.contains("--idle") {
    // A Kubernetes pod's main process: it only waits; guests are started in it with exec.
    while true { pause() }
} else if let index = arguments.firstIndex(of: "--install"), index + 2 < arguments.count {
    // The Kubernetes init container: copy the guest into the pod's shared volume.
    if let failure = GuestInstall.copy(from: arguments[index + 1], to: arguments[index + 2]) {
        complain("airlock-guest: --install: \(failure)")
        exit(73)
    }
} else if let index = arguments.firstIndex(of: "--pack"), index + 1 < arguments.count {
    // A remote sandbox's workspace going back to the harness: a tar on stdout.
    if let failure = WorkspaceTar.pack(arguments[index + 1]) {
        complain("airlock-guest: --pack: \(failure)")
        exit(74)
    }
} else if let index = arguments.firstIndex(of: "--unpack"), index + 1 < arguments.count {
    // The harness's workspace coming into a remote sandbox: a tar on stdin.
    if let failure = WorkspaceTar.unpack(arguments[index + 1]) {
        complain("airlock-guest: --unpack: \(failure)")
        exit(74)
    }
} else {
    // `--egress-relay PORT=SOCKET`: the sandbox's HTTP proxy, relayed to the harness.
    if let index = arguments.firstIndex(of: "--egress-relay"), index + 1 < arguments.count {
        guard let relay = EgressRelay(argument: arguments[index + 1]) else {
            complain("airlock-guest: --egress-relay takes PORT=/path/to/socket")
            exit(64)
        }
        if let error = relay.start() {
            complain("airlock-guest: cannot listen on 127.0.0.1:\(relay.port): \(String(cString: strerror(error)))")
            exit(71)
        }
    }
    let server = GuestServer(workspace: workspace, directory: directory)
    // `--egress-stream PORT`: the same proxy, its connections carried over this channel
    // (a pod, where nothing of the harness can be bound in).
    if let index = arguments.firstIndex(of: "--egress-stream"), index + 1 < arguments.count {
        guard let relay = StreamRelay(argument: arguments[index + 1]) else {
            complain("airlock-guest: --egress-stream takes a port (1-65535)")
            exit(64)
        }
        if let error = relay.start(into: server.streams) {
            complain("airlock-guest: cannot listen on 127.0.0.1:\(relay.port): \(String(cString: strerror(error)))")
            exit(71)
        }
    }
    server.serve()
    // `--own-session`: no pid namespace ends what the commands left running; this does.
    if arguments.contains("--own-session") { SessionCleanup.killSession() }
}

/// A line on stderr, which the harness shows when the sandbox fails to start.
func complain(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
