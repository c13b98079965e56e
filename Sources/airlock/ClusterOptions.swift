import ArgumentParser

/// Which cluster and namespace the kubernetes tier talks to: the same three options on
/// `run`/`exec`/`submit` (through `SandboxOptions`), `doctor` and `gc` (docs/kubernetes.md).
struct ClusterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Kubernetes: the kubeconfig (default: $KUBECONFIG, else ~/.kube/config, else the in-cluster service account).", valueName: "file"))
    var kubeconfig: String?

    @Option(name: .long, help: ArgumentHelp("Kubernetes: the kubeconfig context (default: its current context).", valueName: "name"))
    var kubeContext: String?

    @Option(name: .long, help: ArgumentHelp("Kubernetes: the namespace of the sandbox pods (default: the context's, else default).", valueName: "name"))
    var namespace: String?

    /// True when any of the three was given.
    var given: Bool { kubeconfig != nil || kubeContext != nil || namespace != nil }
}
