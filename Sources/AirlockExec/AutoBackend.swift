import AirlockSandbox
import Synchronization

/// `--sandbox auto`: the first tier of the ladder that starts a sandbox here. The choice is
/// made by a real start (a probe can say yes where the start then fails, e.g. bwrap
/// inside a container whose seccomp profile refuses user namespaces) and kept for the
/// process, so a run's sandboxes all come from one tier. A tier's backend is made only when
/// it is tried: each probes the host when made (cgroups, runtimes on PATH), and `airlock
/// exec` pays for every probe in its start-up.
public final class AutoBackend: SandboxBackend, Sendable {
    public let candidates: [(tier: SandboxTier, make: @Sendable () -> any SandboxBackend)]
    private let chosen = Mutex<(any SandboxBackend)?>(nil)
    /// Why each skipped tier was skipped, for the error when none works.
    private let skipped = Mutex<[String]>([])

    public init(candidates: [(SandboxTier, @Sendable () -> any SandboxBackend)]) {
        self.candidates = candidates.map { (tier: $0.0, make: $0.1) }
    }

    public var name: String { chosen.withLock { $0?.name } ?? "auto" }
    public var version: String { chosen.withLock { $0?.version } ?? "auto" }
    /// Tiers that failed before the chosen one, with the reason.
    public var fallbacks: [String] { skipped.withLock { $0 } }

    public func start(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox {
        if let backend = chosen.withLock({ $0 }) { return try await backend.start(configuration) }
        var reasons: [String] = []
        for (tier, make) in candidates {
            let backend = make()
            do {
                let sandbox = try await backend.start(configuration)
                chosen.withLock { $0 = backend }
                skipped.withLock { $0 = reasons }
                return sandbox
            } catch {
                // The configuration is wrong for every tier alike: say so at once.
                if error.kind == .configuration && tier == candidates.last?.tier { throw error }
                if error.kind == .configuration && !Self.tierSpecific(error) { throw error }
                reasons.append("\(tier.rawValue): \(error.message.split(separator: "\n").first ?? "")"
                               + (error.fix.map { " (fix: \($0))" } ?? ""))
            }
        }
        throw SandboxError(.unavailable, "no sandbox tier works on this host:\n  " + reasons.joined(separator: "\n  "),
                           fix: "run `airlock doctor` for each tier's fix")
    }

    /// Configuration errors that only one tier has (an image on landlock, a writable root
    /// on OCI): the next tier may take the configuration.
    private static func tierSpecific(_ error: SandboxError) -> Bool {
        error.message.contains("tier")
    }
}
