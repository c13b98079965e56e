import AirlockProtocol

/// Makes sandboxes. One sandbox runs one guest.
public protocol SandboxBackend: Sendable {
    var name: String { get }
    func start(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox
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
}
