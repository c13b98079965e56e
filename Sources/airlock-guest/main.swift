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
    // A Kubernetes pod's main process (and its `guest` container's): it only waits; guests
    // are started in `main` with exec.
    // What they leave behind becomes its children: ignoring SIGCHLD reaps them at once.
    signal(SIGCHLD, SIG_IGN)
    if arguments.contains("--until-main-ends") {
        // The `guest` container: it ends when `main` does (PodCompanion).
        PodCompanion.waitForMainToEnd()
        exit(0)
    }
    PodCompanion.announce()
    while true { pause() }
} else if let index = arguments.firstIndex(of: "--install"), index + 2 < arguments.count {
    // A Kubernetes pod's `guest` container (its postStart hook): copy the guest into the
    // pod's shared volume, whole files only, before the kubelet starts `main`.
    if let failure = GuestInstall.copy(from: arguments[index + 1], to: arguments[index + 2]) {
        complain("airlock-guest: --install: \(failure)")
        exit(73)
    }
} else if let index = arguments.firstIndex(of: "--probe-tcp"), index + 2 < arguments.count {
    // `airlock doctor`: can this sandbox open a TCP connection to ADDRESS PORT? (Exit 0
    // connected, 1 refused or unreachable, 2 no answer in 3 s, 64 a bad address.)
    exit(TCPProbe.status(address: arguments[index + 1], port: arguments[index + 2]))
} else if let index = arguments.firstIndex(of: "--pack"), index + 1 < arguments.count {
    // A remote sandbox's workspace going back to the harness: a tar on stdout. With
    // `--holder ID`, only while that sandbox still holds the pod.
    if let at = arguments.firstIndex(of: "--holder"), at + 1 < arguments.count,
       let holder = PodHolder.current(), holder != arguments[at + 1] {
        complain("airlock-guest: --pack: the pod is held by sandbox \(holder) now, not \(arguments[at + 1])")
        exit(PodHolder.takenOverStatus)
    }
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
    // `--fence`: a resumed run's pod; end what the earlier guest left before greeting.
    // `--holder ID`: this guest's sandbox holds the pod now (see PodHolder).
    if let at = arguments.firstIndex(of: "--holder"), at + 1 < arguments.count, !PodHolder.claim(arguments[at + 1]) {
        complain("airlock-guest: --holder: cannot record the pod's holder beside the guest")
        exit(73)
    }
    var fenced: Int?
    if arguments.contains("--fence") {
        switch PodFence.fence() {
        case .success(let count): fenced = count
        case .failure(let refusal):
            complain("airlock-guest: --fence: \(refusal)")
            exit(75)
        }
    }
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
    // `--heartbeat N`: exit when N seconds pass without a frame (a remote harness sends pings).
    var heartbeat: Int?
    if let index = arguments.firstIndex(of: "--heartbeat"), index + 1 < arguments.count {
        guard let seconds = Int(arguments[index + 1]), seconds > 0 else {
            complain("airlock-guest: --heartbeat takes a number of seconds")
            exit(64)
        }
        heartbeat = seconds
    }
    let server = GuestServer(workspace: workspace, directory: directory, fenced: fenced, heartbeat: heartbeat)
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
