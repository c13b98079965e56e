import AirlockExec
import AirlockBubblewrap
import AirlockCore
import AirlockKubernetes
import AirlockLandlock
import AirlockOCI
import AirlockSandbox
import AirlockSandboxHost
import Foundation

/// The only place tiers become backends.
enum SandboxTiers {
    static func backend(_ tier: SandboxTier, runsc: String? = nil, kubernetes: KubernetesOptions? = nil) -> any SandboxBackend {
        let timeout = startTimeout
        switch tier {
        case .auto:
            return AutoBackend(candidates: SandboxTier.ladder.map { tier in (tier, { backend(tier, runsc: runsc) }) })
        case .bwrap:
            var backend = BubblewrapBackend()
            backend.startTimeout = timeout
            return backend
        case .oci:
            var backend = OCIBackend(runtime: ociRuntime)
            backend.startTimeout = timeout
            return backend
        case .gvisor:
            let runtime = runsc.map { OCIRuntime(kind: .runsc, path: $0) }
                ?? OCIRuntime.find(.runsc) ?? OCIRuntime(kind: .runsc, path: "runsc")
            var backend = OCIBackend(runtime: runtime)
            backend.startTimeout = timeout
            return backend
        case .landlock:
            var backend = LandlockBackend()
            backend.startTimeout = timeout
            return backend
        case .kubernetes:
            var backend = KubernetesBackend(options: kubernetes ?? KubernetesOptions())
            backend.greetTimeout = timeout
            return backend
        }
    }

    /// The backend a recorded run used (resume, replay): its tier and the tier's options.
    static func recorded(_ configuration: RunConfiguration) -> any SandboxBackend {
        let tier = SandboxTier(rawValue: configuration.sandboxTier) ?? .auto
        return backend(tier, kubernetes: tier == .kubernetes ? KubernetesRecord.options(configuration.sandboxOptions) : nil)
    }

    /// crun, else runc; $AIRLOCK_OCI_RUNTIME (crun, runc, or a path to either) chooses.
    static var ociRuntime: OCIRuntime {
        if let chosen = ProcessInfo.processInfo.environment["AIRLOCK_OCI_RUNTIME"], !chosen.isEmpty {
            let kind: OCIRuntime.Kind = chosen.hasSuffix("runc") ? .runc : .crun
            return chosen.hasPrefix("/") ? OCIRuntime(kind: kind, path: chosen)
                : OCIRuntime.find(kind) ?? OCIRuntime(kind: kind, path: chosen)
        }
        return OCIRuntime.preferred() ?? OCIRuntime(kind: .crun, path: "crun")
    }

    /// How long a sandbox may take to greet: $AIRLOCK_START_TIMEOUT seconds, else 20.
    static var startTimeout: Duration { SandboxTier.startTimeout }
}
