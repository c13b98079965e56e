import AirlockExec
import AirlockCore
import AirlockKubernetes
import AirlockSandbox
import ArgumentParser

/// `--sandbox` and `--runsc`, shared by `run` and `exec` (docs/tiers.md), and the
/// Kubernetes tier's options (docs/kubernetes.md).
struct SandboxOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Isolation tier: auto (default: the strongest that works here, see `airlock doctor`), bwrap, oci (crun, else runc), gvisor (runsc), landlock (no namespaces; works inside containers) or kubernetes (a pod on a cluster).",
        valueName: "tier"))
    var sandbox: String?

    @Option(name: .long, help: ArgumentHelp("The runsc binary for --sandbox gvisor (default: $RUNSC, else runsc on PATH).", valueName: "path"))
    var runsc: String?

    @OptionGroup var cluster: ClusterOptions

    @Option(name: .long, help: ArgumentHelp("--sandbox kubernetes: the pods' RuntimeClass (e.g. gvisor, kata).", valueName: "name"))
    var runtimeClass: String?

    @Option(name: .long, help: ArgumentHelp("--sandbox kubernetes: the image the pod's guest container copies the guest from (default: \(GuestImage.defaultReference); write it with `airlock image guest -o FILE`).", valueName: "ref"))
    var guestImage: String?

    @Option(name: .long, help: ArgumentHelp("--sandbox kubernetes: the most the workspace may weigh (MiB, default 256) when it is copied into the pod and back.", valueName: "MiB"))
    var kubeWorkspaceLimit: Int?

    func validate() throws {
        guard let sandbox else { return }
        guard SandboxTier(rawValue: sandbox) != nil else {
            throw ValidationError("--sandbox \(sandbox) is not a tier; use one of: \(SandboxTier.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if tier != .kubernetes, cluster.given || runtimeClass != nil || guestImage != nil || kubeWorkspaceLimit != nil {
            throw ValidationError("--kubeconfig, --kube-context, --namespace, --runtime-class, --guest-image and --kube-workspace-limit need --sandbox kubernetes")
        }
        if let limit = kubeWorkspaceLimit, !(1...65536).contains(limit) {
            throw ValidationError("--kube-workspace-limit takes 1 to 65536 (MiB), not \(limit)")
        }
    }

    /// Unset (no flag, no config `sandbox:`) means auto.
    var tier: SandboxTier { sandbox.flatMap(SandboxTier.init(rawValue:)) ?? .auto }

    /// The Kubernetes options; `image` is `--image`, a registry reference on this tier.
    func kubernetes(image: String?) -> KubernetesOptions {
        var options = cluster.kubernetes(image: image, runtimeClass: runtimeClass, guestImage: guestImage)
        if let kubeWorkspaceLimit { options.workspaceLimitBytes = kubeWorkspaceLimit * 1024 * 1024 }
        return options
    }

    func backend(image: String? = nil, runID: String? = nil) -> any SandboxBackend {
        var options = kubernetes(image: image)
        options.runID = runID
        return SandboxTiers.backend(tier, runsc: runsc, kubernetes: options)
    }
}
