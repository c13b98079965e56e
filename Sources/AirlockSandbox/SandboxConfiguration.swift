/// Everything that decides what a sandbox can see and use. A value: the launcher turns it
/// into an argv without side effects, so tests can read exactly what will run.
public struct SandboxConfiguration: Sendable, Hashable {
    public enum Network: String, Sendable, Hashable, CaseIterable {
        /// Its own network namespace with only loopback: no route anywhere.
        case none
        /// No route either; the harness's egress proxy is reachable through a socket bound
        /// in and relayed by the guest to a loopback port (`egress`).
        case proxy
    }

    /// Host directory mounted read-write at `/workspace`: the only writable host path.
    public var workspace: String
    /// The system the sandbox sees: the host's read-only `/usr`, or an unpacked image.
    public var root: SandboxRoot = .host
    public var network: Network = .none
    public var limits: ResourceLimits = ResourceLimits()
    /// Size cap of the tmpfs at `/tmp` (bytes).
    public var tmpSize: Int = 256 * 1024 * 1024
    /// Extra environment for commands, on top of the minimal one built from nothing.
    public var environment: [String: String] = [:]
    /// Where the guest executable is on the host; nil finds it beside the running binary.
    public var guestPath: String?
    /// The egress proxy's socket and trust, required when `network` is `.proxy`.
    public var egress: EgressAttachment?
    /// The run the sandbox serves (backends that label what they create, such as pods).
    public var runID: String?
    /// Unix sockets to bind into the sandbox: host path → path inside.
    public var socketBinds: [String: String] = [:]
    /// Weakenings exist only so the escape tests can prove they can fail; nothing outside
    /// this package can set them (`package`: the backends' modules read them, the tests
    /// set them; the `airlock` command never does).
    package var weakenings: Set<Weakening> = []

    public init(workspace: String) {
        self.workspace = workspace
    }
}

/// cgroup limits; nil means unlimited.
public struct ResourceLimits: Sendable, Hashable {
    public var memoryBytes: Int?
    public var pids: Int?
    /// CPU quota in cores (1.5 = one and a half cores).
    public var cpus: Double?

    public init(memoryBytes: Int? = nil, pids: Int? = nil, cpus: Double? = nil) {
        self.memoryBytes = memoryBytes
        self.pids = pids
        self.cpus = cpus
    }

    public var isEmpty: Bool { memoryBytes == nil && pids == nil && cpus == nil }
}

/// Deliberate holes, for tests only.
package enum Weakening: String, Sendable, Hashable {
    case noSeccomp
    case shareNetwork
    case bindHostTmp
    case keepRootUID
}
