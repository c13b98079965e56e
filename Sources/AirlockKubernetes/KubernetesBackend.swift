import AirlockProtocol
import AirlockSandbox
import AirlockSandboxHost
import Foundation

/// Sandboxes as pods on a Kubernetes cluster. The harness stays outside: it creates a
/// hardened pod (PodSpec), whose `guest` container copies the guest in from the guest image
/// before `main` starts, then starts the guest in `main` with `pods/exec` and speaks the
/// usual protocol over that stream.
/// Every failure before the greeting deletes the pod: nothing is left behind.
public struct KubernetesBackend: SandboxBackend {
    public var options: KubernetesOptions
    /// From the exec's start to the guest's greeting.
    public var greetTimeout: Duration = .seconds(20)
    /// The longest one guest stream may live (the run's budget bounds it sooner).
    public var streamTimeout: Duration = .seconds(24 * 3600)
    /// Keep the pod when the sandbox is killed (resume reattaches by label).
    public var keepPod = false
    /// Told each step of `start` as it ends (the bench's breakdown).
    package var phaseObserver: (@Sendable (String) -> Void)?

    public init(options: KubernetesOptions) {
        self.options = options
    }

    public var name: String { "kubernetes" }
    public var version: String { "kubernetes" + (options.runtimeClass.map { " (runtime class \($0))" } ?? "") }

    /// The client for the configured context, with the error a user can act on.
    public func client() throws(SandboxError) -> KubeClient {
        let config: KubeConfig
        do { config = try KubeConfig.load(path: options.kubeconfig, context: options.context) } catch {
            throw SandboxError(.configuration, "Kubernetes: \(error.message)",
                               fix: "check --kube-context and the kubeconfig (KUBECONFIG, --kubeconfig); `kubectl config get-contexts` lists them")
        }
        do { return try KubeClient(config: config) } catch {
            throw SandboxError(.configuration, "Kubernetes: \(error.message)")
        }
    }

    public func namespace(for client: KubeClient) -> String {
        options.namespace ?? client.config.namespace ?? "default"
    }

    public func start(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox {
        let began = ContinuousClock.now
        // Egress needs no pod network: the guest carries the proxy's connections as streams.
        let egress = configuration.network == .proxy ? configuration.egress : nil
        if configuration.network == .proxy && egress == nil {
            throw SandboxError(.configuration, "network proxy was asked for without an egress proxy to reach")
        }
        var options = self.options
        if let run = configuration.runID { options.runID = run }
        let client = try self.client()
        let namespace = namespace(for: client)
        let id = SandboxStart.newID()
        let podName = "airlock-" + PodSpec.labelValue(id.lowercased()).replacingOccurrences(of: "_", with: "-")
        do {
            try await client.ensureDenyEgressPolicy(namespace: namespace, selector: PodSpec.managedBy)
        } catch {
            await client.shutdown()
            throw Self.explain(error, doing: "create the sandbox network policy in namespace \(namespace)", client: client)
        }
        phaseObserver?("policy")
        let workspace = configuration.workspace.isEmpty || !FileManager.default.fileExists(atPath: configuration.workspace) ? nil
            : WorkspaceSync(root: configuration.workspace, limit: options.workspaceLimitBytes)
        var recovered = Recovered()
        // One listing of the run's pods serves both: reattach to a live one, else recover and delete.
        if let run = options.runID {
            let pods = await runPods(run, namespace: namespace, client: client)
            if let sandbox = await reattach(pods, id: id, namespace: namespace, client: client, began: began, egress: egress) {
                sandbox.workspace = workspace
                sandbox.syncTimeout = options.syncTimeout
                return sandbox
            }
            recovered = await recoverStalePods(pods, workspace: workspace, namespace: namespace, client: client)
        }
        let created: PodStatus
        do {
            created = PodStatus(object: try await client.createPod(
                PodSpec.make(name: podName, sandboxID: id, options: options, configuration: configuration), namespace: namespace))
        } catch {
            await client.shutdown()
            throw Self.explain(error, doing: "create pod \(podName) in namespace \(namespace)", client: client)
        }
        phaseObserver?("create")
        _ = created
        let sandbox = try await launch(pod: podName, id: id, namespace: namespace, client: client, began: began,
                                       workspace: workspace, egress: egress)
        sandbox.workspace = workspace
        if !recovered.pods.isEmpty {
            sandbox.recovered = ["stale_pods": recovered.pods.joined(separator: ","), "recovered_entries": "\(recovered.entries)"]
            if !recovered.failures.isEmpty { sandbox.recovered["recover_error"] = recovered.failures.joined(separator: "; ") }
        }
        sandbox.syncTimeout = options.syncTimeout
        return sandbox
    }

    /// The guest exits after this long without a frame; the harness pings three times as often.
    static let heartbeatSeconds = 30

    /// Starts a fresh guest in a running pod (a new sandbox or a resumed run's pod). A guest
    /// that does not greet ends the sandbox, and the pod with it unless `deleteOnFailure` is
    /// false (a reattachment: the pod's work is recovered before it goes).
    func attach(pod: PodStatus, id: String, namespace: String, client: KubeClient,
                began: ContinuousClock.Instant, egress: EgressAttachment? = nil, guestArguments: [String] = [],
                deleteOnFailure: Bool = true) async throws(SandboxError) -> KubernetesSandbox {
        let bridge = try ExecBridge()
        let sandbox = KubernetesSandbox(id: id, pod: pod, namespace: namespace, client: client, bridge: bridge, keepPod: keepPod)
        // Streams go to the proxy's socket on this host; set before the guest can open one.
        if let egress { bridge.guest.carryStreams(toUnixSocket: egress.socketOnHost) }
        let command = GuestImage.launch(directory: GuestImage.installDirectory,
                                        arguments: guestArguments + (egress.map(PodEgress.guestArguments) ?? [])
                                            + ["--heartbeat", "\(Self.heartbeatSeconds)", "--holder", id])
        sandbox.attach(KubeExec(pod: pod.name, namespace: namespace, command: command), timeout: streamTimeout)
        guard let hello = await bridge.guest.waitForHello(timeout: greetTimeout) else {
            let detail = sandbox.diagnostics.trimmingCharacters(in: .whitespacesAndNewlines)
            let exit = sandbox.guestExit.map { " (\($0))" } ?? ""
            if !deleteOnFailure {
                sandbox.abandon()
                throw SandboxError(.startFailed, "Kubernetes: the guest in pod \(pod.name) did not greet\(exit)" + (detail.isEmpty ? "" : ": \(detail)"))
            }
            if keepPod { await client.deletePodAndWait(pod.name, namespace: namespace) }
            await sandbox.kill()
            throw SandboxError(.startFailed, "Kubernetes: the guest in pod \(pod.name) did not greet\(exit)" + (detail.isEmpty ? "" : ": \(detail)"),
                               fix: "check the guest image (airlock image guest) matches this airlock, and that pods/exec is allowed")
        }
        guard hello.version == ProtocolVersion.current else {
            if !deleteOnFailure {
                sandbox.abandon()
                throw SandboxError(.startFailed, "guest speaks protocol \(hello.version), harness \(ProtocolVersion.current)")
            }
            await sandbox.kill()
            throw SandboxError(.startFailed, "guest speaks protocol \(hello.version), harness \(ProtocolVersion.current)",
                               fix: "push the guest image of this airlock build (airlock image guest -o FILE)")
        }
        phaseObserver?("hello")
        sandbox.fenced = hello.fenced
        sandbox.startHeartbeat(every: .seconds(Self.heartbeatSeconds / 3))
        let took = (ContinuousClock.now - began).components
        sandbox.startMilliseconds = Double(took.seconds) * 1000 + Double(took.attoseconds) / 1e15
        return sandbox
    }

    static func explain(_ error: KubeError, doing what: String, client: KubeClient) -> SandboxError {
        // Admission refuses a missing RuntimeClass with 403, which is not a matter of rights.
        if error.isForbidden, error.message.contains("RuntimeClass"), error.message.contains("not found") {
            return SandboxError(.configuration, "Kubernetes: cannot \(what): \(error.message)",
                                fix: "`kubectl get runtimeclass` lists the cluster's runtime classes; install the runtime (e.g. gVisor's runsc) or drop --runtime-class")
        }
        if error.isForbidden {
            return SandboxError(.configuration, "Kubernetes: not allowed to \(what): \(error.message)",
                                fix: "grant the context's user a Role with pods create/get/list/watch/delete, pods/exec get/create and networkpolicies get/create in that namespace (docs/kubernetes.md)")
        }
        if error.isUnauthorized {
            return SandboxError(.configuration, "Kubernetes: the apiserver refused the credentials of context \(client.config.context)",
                                fix: "refresh the token or certificate in the kubeconfig")
        }
        if error.status == 0 {
            return SandboxError(.unavailable, "Kubernetes: cannot \(what): \(error.message)",
                                fix: "check the cluster is reachable: kubectl --context \(client.config.context) get --raw /readyz")
        }
        return SandboxError(.configuration, "Kubernetes: cannot \(what): \(error.description)",
                            fix: error.status == 422 || error.status == 400 ? "the namespace refused the pod spec; see the message above" : nil)
    }

    static func startFix(_ error: KubeError) -> String {
        switch error.reason {
        case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
            return "the cluster cannot pull the image: check --image and the guest image (airlock image guest -o FILE, then push it)"
        case "GuestFailed":
            return "the guest image did not run or install the guest: check --guest-image is this airlock's (airlock image guest -o FILE, then push it)"
        case "ExecRefused":
            return "grant pods/exec (create, get) in the namespace (docs/kubernetes.md lists the Role)"
        case "Timeout":
            return "the pod stayed Pending: check the namespace's quota, node capacity and --runtime-class (kubectl describe pod)"
        default:
            return "see the pod's events: kubectl describe pod"
        }
    }
}
