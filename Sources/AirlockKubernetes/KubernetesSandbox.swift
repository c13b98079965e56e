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
    private let state = Mutex<(alive: Bool, startMilliseconds: Double, exit: ExecExit?, ended: Bool, end: [String: String])>(
        (true, 0, nil, false, [:]))
    private var streamTask: Task<Void, Never>?
    private var heartbeatTask: Task<Void, Never>?
    /// Leave the pod in place on kill (resume reattaches to it); tests and `gc` delete.
    public let keepPod: Bool
    /// The host workspace this pod's `/workspace` goes back to when the sandbox ends.
    var workspace: WorkspaceSync?
    var syncTimeout: Duration = .seconds(120)
    /// A dead harness's pods of the same run this start deleted (and what came back from them),
    /// or the pod it reattached to.
    var recovered: [String: String] = [:]
    /// Processes the guest's `--fence` killed (a reattached pod), from its greeting.
    var fenced: Int?

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

    /// Pings the guest (started with `--heartbeat`) so it knows its harness is still there;
    /// a stream that drops without closing its stdin then ends the guest, not the other way.
    func startHeartbeat(every interval: Duration) {
        let guest = bridge.guest
        heartbeatTask = Task {
            while !Task.isCancelled && !guest.isClosed {
                try? await Task.sleep(for: interval)
                if Task.isCancelled || guest.isClosed { return }
                _ = guest.send(.ping)
            }
        }
    }

    public var guest: GuestConnection { bridge.guest }
    public var ledgerDetails: [String: String] {
        var details = ["pod": pod.name, "pod_uid": pod.uid, "node": pod.node, "namespace": namespace]
        if let runtimeClass = pod.runtimeClass { details["runtime_class"] = runtimeClass }
        details.merge(recovered) { old, _ in old }
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

    public var endDetails: [String: String] { state.withLock { $0.end } }

    /// Ends the stream only: the pod and the backend's client stay (a reattachment that did
    /// not greet, whose pod's work is then recovered the other way).
    func abandon() {
        state.withLock { $0.ended = true; $0.alive = false }
        heartbeatTask?.cancel()
        bridge.finish()
        streamTask?.cancel()
    }

    public func kill() async {
        let first = state.withLock { state in
            defer { state.ended = true }
            return !state.ended
        }
        var keep = keepPod
        if first, let workspace {
            // Back to the host before the pod goes. When that fails the pod is kept, so the
            // agent's work is still there (`kubectl cp`; `airlock gc` deletes it later).
            do {
                switch try await client.copyWorkspaceOut(workspace, pod: pod.name, namespace: namespace, timeout: syncTimeout, holder: id) {
                case .copied(let summary):
                    state.withLock { $0.end = ["workspace_entries": "\(summary.entries)", "workspace_bytes": "\(summary.bytes)"] }
                case .takenOver(let words):
                    // A resumed run (another harness) holds the pod now: its work is its own
                    // to bring back, and the pod is not ours to delete.
                    keep = true
                    state.withLock { $0.end = ["pod_taken_over": words.isEmpty ? pod.name : words] }
                }
            } catch {
                // Kept only when there is still something in it to get back.
                keep = (try? await client.pod(pod.name, namespace: namespace)) != nil
                let kept = keep ? "; pod \(pod.name) is kept in namespace \(namespace): copy its /workspace with kubectl cp before `airlock gc` deletes it" : ""
                state.withLock { state in
                    state.end = ["workspace_error": error.message]
                    if keep { state.end["pod_kept"] = pod.name }
                }
                FileHandle.standardError.write(Data("airlock: \(error.message)\(kept)\n".utf8))
            }
        }
        heartbeatTask?.cancel()
        bridge.finish()
        state.withLock { $0.alive = false }
        if !keep {
            await client.deletePodAndWait(pod.name, namespace: namespace)
        }
        streamTask?.cancel()
        await client.shutdown()
    }
}
