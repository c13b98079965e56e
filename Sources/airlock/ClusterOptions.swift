import AirlockKubernetes
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

    /// The tier's options: these three, and the pod's image, runtime class and guest image
    /// (the same mapping for `run`/`exec`/`submit` and `doctor --sandbox kubernetes`).
    func kubernetes(image: String?, runtimeClass: String?, guestImage: String?) -> KubernetesOptions {
        var options = KubernetesOptions(image: image ?? KubernetesOptions.defaultImage)
        options.kubeconfig = kubeconfig
        options.context = kubeContext
        options.namespace = namespace
        options.runtimeClass = runtimeClass
        if let guestImage { options.guestImage = guestImage }
        return options
    }
}
