/// Where and how sandbox pods run: `--kube-context`, `--namespace`, `--runtime-class`,
/// `--image` and the guest image, plus the bounds of every wait.
public struct KubernetesOptions: Sendable, Hashable {
    /// A kubeconfig file; nil is $KUBECONFIG, else ~/.kube/config, else in-cluster.
    public var kubeconfig: String?
    public var context: String?
    /// nil is the context's namespace, else `default`.
    public var namespace: String?
    public var runtimeClass: String?
    /// The sandbox's image, as the cluster pulls it (a registry reference).
    public var image: String
    /// The image the pod's `guest` container copies the guest from (`airlock image guest`).
    public var guestImage: String = GuestImage.defaultReference
    /// The run the pod belongs to (a label; `resume` and `gc` find pods by it).
    public var runID: String?
    /// The uid (and gid) the pod runs as: unprivileged, never 0.
    public var uid: Int = 65532
    /// From pod creation to a running container: image pulls included.
    public var startTimeout: Duration = .seconds(60)
    /// The pod's `activeDeadlineSeconds`: the run's time budget plus slack.
    public var activeDeadlineSeconds: Int = 6 * 3600
    /// `ephemeral-storage` limit of the container (bytes), and the emptyDirs' sizes.
    public var ephemeralStorageBytes: Int = 2 * 1024 * 1024 * 1024
    public var workspaceBytes: Int = 1024 * 1024 * 1024
    public var homeBytes: Int = 64 * 1024 * 1024
    /// The workspace's archive, each way (`--kube-workspace-limit`, MiB on the command line).
    public var workspaceLimitBytes: Int = 256 * 1024 * 1024
    /// One copy of the workspace into the pod or back.
    public var syncTimeout: Duration = .seconds(120)
    /// Defaults for `requests` = `limits` when the run sets none.
    public var defaultMemoryBytes: Int = 512 * 1024 * 1024
    public var defaultCPUs: Double = 1

    public static let defaultImage = "docker.io/library/busybox:1.36"

    public init(image: String = KubernetesOptions.defaultImage) {
        self.image = image
    }
}
