import AirlockProtocol

/// Makes sandboxes. One sandbox runs one guest.
public protocol SandboxBackend: Sendable {
    /// The tier's name as `--sandbox` spells it (bwrap, landlock, oci, gvisor).
    var name: String { get }
    /// The runtime and its version as the ledger records it (e.g. "bwrap 0.8.0",
    /// "crun 1.8.1", "landlock ABI 7").
    var version: String { get }
    func start(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox
    /// Whether a warm pool may start its sandboxes before the run that takes one is known.
    var poolable: Bool { get }
}

extension SandboxBackend {
    public var version: String { name }
    public var poolable: Bool { true }
}

/// A running sandbox: a guest to talk to, and a life the harness ends.
public protocol Sandbox: Sendable {
    var id: String { get }
    var guest: GuestConnection { get }
    /// How long it took from spawning the sandbox to the guest's greeting.
    var startMilliseconds: Double { get }
    /// Kills the sandbox's whole process tree (cgroup, then the namespace's init) and
    /// waits until it is gone. Safe to call more than once.
    func kill() async
    /// Whether the sandbox has ended (killed, crashed, or its guest exited).
    var isAlive: Bool { get }
    /// What the ledger records about where it runs (a pod's name, UID, node), beyond its id.
    var ledgerDetails: [String: String] { get }
    /// What the ledger records about its end, read after `kill` (a remote sandbox's
    /// workspace copied back, or why it could not be).
    var endDetails: [String: String] { get }
}

extension Sandbox {
    public var ledgerDetails: [String: String] { [:] }
    public var endDetails: [String: String] { [:] }
}
