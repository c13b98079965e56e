import AirlockKubernetes
import AirlockSandbox
import Foundation

/// The cluster `scripts/k8s-test-cluster.sh up` started, named by $AIRLOCK_K8S_KUBECONFIG
/// (scripts/test.sh sets it). Without it every cluster test prints why it skipped.
enum TestCluster {
    static var kubeconfig: String? {
        guard let path = ProcessInfo.processInfo.environment["AIRLOCK_K8S_KUBECONFIG"], !path.isEmpty,
              FileManager.default.isReadableFile(atPath: path) else { return nil }
        return path
    }

    /// True when the cluster is there; else prints the reason the caller skips.
    static func present(_ test: String) -> Bool {
        if kubeconfig != nil { return true }
        print("skipping \(test): no test cluster (AIRLOCK_K8S_KUBECONFIG unset; start one with scripts/k8s-test-cluster.sh up, which scripts/test.sh does)")
        return false
    }

    /// The sandbox image the test cluster imported (busybox, uid 10001 in /etc/passwd).
    static let image = ProcessInfo.processInfo.environment["AIRLOCK_K8S_IMAGE"] ?? "docker.io/probe/sandbox:1"

    static func options() -> KubernetesOptions {
        var options = KubernetesOptions(image: image)
        options.kubeconfig = kubeconfig
        options.startTimeout = .seconds(45)
        // Half a CPU (plus the guest container's 0.2): the test node has 2, and the suites'
        // pods run side by side; at 1.2 CPU a pod, one would wait Pending for another's end.
        options.defaultCPUs = 0.5
        return options
    }

    static func backend(_ edit: (inout KubernetesOptions) -> Void = { _ in }) -> KubernetesBackend {
        var options = options()
        edit(&options)
        var backend = KubernetesBackend(options: options)
        backend.greetTimeout = .seconds(20)
        return backend
    }

    static func client() throws -> KubeClient {
        try KubeClient(config: KubeConfig.load(path: kubeconfig))
    }

    static func workspace() throws -> String {
        let path = NSTemporaryDirectory() + "airlock-k8s-ws-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Pods of the test namespace that Airlock made, by name.
    static func airlockPods(_ client: KubeClient) async throws -> [String] {
        let namespace = client.config.namespace ?? "default"
        return try await client.pods(namespace: namespace, selector: "app.kubernetes.io/managed-by=airlock").map { PodStatus(object: $0).name }
    }
}
