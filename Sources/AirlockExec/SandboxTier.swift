#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The isolation tiers `--sandbox` names, strongest first within what `auto` tries.
public enum SandboxTier: String, CaseIterable, Sendable {
    case auto, bwrap, oci, gvisor, landlock, kubernetes

    /// What `auto` tries, in order. gVisor is the strongest boundary but is only used when
    /// asked for: Debian's runsc is a ptrace-platform build whose every system call costs a
    /// round trip through the sentry (docs/tiers.md has the figures).
    public static let ladder: [SandboxTier] = [.bwrap, .oci, .landlock]

    public var summary: String {
        switch self {
        case .auto: return "the strongest tier that works here"
        case .bwrap: return "bubblewrap: every namespace, seccomp, cgroups, unprivileged uid"
        case .oci: return "OCI runtime (crun, else runc): the same namespaces from a generated bundle"
        case .gvisor: return "gVisor (runsc): a user-space kernel between the agent and the host"
        case .landlock: return "Landlock + seccomp + rlimits, no namespaces (inside containers)"
        case .kubernetes: return "a hardened pod on a Kubernetes cluster (--kube-context, --namespace; docs/kubernetes.md)"
        }
    }
}

extension SandboxTier {
    /// How long a sandbox may take to greet: $AIRLOCK_START_TIMEOUT seconds, else 20.
    public static var startTimeout: Duration {
        let seconds = ProcessInfo.processInfo.environment["AIRLOCK_START_TIMEOUT"].flatMap(Double.init) ?? 20
        return .milliseconds(Int(max(seconds, 0.1) * 1000))
    }
}
