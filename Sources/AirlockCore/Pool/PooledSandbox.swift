import AirlockProtocol
import AirlockSandbox
import Synchronization

/// A sandbox handed out by a `WarmPool`: the sandbox itself, plus how long it waited ready
/// in the pool and how long taking it took (both recorded in the run's `sandbox_started`).
public struct PooledSandbox: Sandbox {
    public let base: any Sandbox
    /// What it was started with: handed only to a start of the same configuration.
    public let configuration: SandboxConfiguration
    public let waitedMilliseconds: Double
    public let takeMicroseconds: Double
    /// Tells the pool the sandbox is gone (its workspace given back): called after the kill.
    let released: @Sendable () async -> Void

    public var id: String { base.id }
    public var guest: GuestConnection { base.guest }
    public var startMilliseconds: Double { base.startMilliseconds }
    public var isAlive: Bool { base.isAlive }
    public var ledgerDetails: [String: String] { base.ledgerDetails }
    public var endDetails: [String: String] { base.endDetails }
    public func kill() async {
        await base.kill()
        await released()
    }
}

/// A backend that hands out a sandbox taken from the pool for this run on its first start,
/// and starts any later one (a replacement) as `base` would. Whatever it returns serves this
/// one run and is killed by it.
public final class HandOverBackend: SandboxBackend {
    public let base: any SandboxBackend
    private let first: Mutex<PooledSandbox?>

    public init(base: any SandboxBackend, pooled: PooledSandbox?) {
        self.base = base
        self.first = Mutex(pooled)
    }

    public var name: String { base.name }
    public var version: String { base.version }

    public func start(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox {
        let pooled = first.withLock { value -> PooledSandbox? in
            defer { value = nil }
            return value
        }
        if let pooled {
            // The run's id is set by the loop after the take; it is a label, not a difference.
            var wanted = configuration
            wanted.runID = pooled.configuration.runID
            if pooled.isAlive, pooled.configuration == wanted, await Self.answers(pooled) { return pooled }
            // Died between the take and the run's start, or the run needs another
            // configuration after all (an egress proxy's socket): this run starts its own.
            await pooled.kill()
        }
        return try await base.start(configuration)
    }

    /// One guest round trip within a second: a sandbox that waited in the pool must still
    /// answer (not frozen, not half-dead) before a run relies on it.
    static func answers(_ sandbox: PooledSandbox) async -> Bool {
        let raced = await Deadline.race(.now + .seconds(1)) { () -> Bool in
            do { _ = try await sandbox.guest.call(.listFiles(PathRequest(path: "."))); return true } catch { return false }
        }
        if case .value(true) = raced { return true }
        return false
    }
}
