import AirlockSandbox
import Foundation
import Synchronization

/// A guest running in a pod, reached through one exec stream. `kill` ends the stream and
/// deletes the pod (grace 0), then waits (bounded) until the apiserver no longer has it.
public final class KubernetesSandbox: Sandbox, @unchecked Sendable {
    public let id: String
    public let pod: PodStatus
    public let namespace: String
    let client: KubeClient
    let bridge: ExecBridge
    private let state = Mutex<(alive: Bool, startMilliseconds: Double, exit: ExecExit?)>((true, 0, nil))
    private var streamTask: Task<Void, Never>?
    /// Leave the pod in place on kill (resume reattaches to it); tests and `gc` delete.
    public let keepPod: Bool

    init(id: String, pod: PodStatus, namespace: String, client: KubeClient, bridge: ExecBridge, keepPod: Bool) {
        self.id = id
        self.pod = pod
        self.namespace = namespace
        self.client = client
        self.bridge = bridge
        self.keepPod = keepPod
    }

    func attach(_ exec: KubeExec, timeout: Duration) {
        let bridge = bridge
        let client = client
        streamTask = Task { [weak self] in
            let exit = await bridge.run(client: client, exec: exec, timeout: timeout)
            self?.state.withLock { $0.alive = false; $0.exit = exit }
        }
    }

    public var guest: GuestConnection { bridge.guest }
    public var ledgerDetails: [String: String] {
        var details = ["pod": pod.name, "pod_uid": pod.uid, "node": pod.node, "namespace": namespace]
        if let runtimeClass = pod.runtimeClass { details["runtime_class"] = runtimeClass }
        return details
    }
    public var podName: String { pod.name }
    public var startMilliseconds: Double {
        get { state.withLock { $0.startMilliseconds } }
        set { state.withLock { $0.startMilliseconds = newValue } }
    }
    public var isAlive: Bool { state.withLock { $0.alive } && !bridge.guest.isClosed }
    /// How the guest's exec ended, once it has.
    public var guestExit: ExecExit? { state.withLock { $0.exit } }
    var diagnostics: String { bridge.diagnostics }

    public func kill() async {
        bridge.finish()
        state.withLock { $0.alive = false }
        if !keepPod {
            await client.deletePodAndWait(pod.name, namespace: namespace)
        }
        streamTask?.cancel()
        await client.shutdown()
    }
}
