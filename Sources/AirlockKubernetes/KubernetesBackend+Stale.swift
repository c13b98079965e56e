import AirlockSandbox
import Foundation

/// A run's pods left by a harness that died (SIGKILL, a lost worker): found by the run's
/// label when the run starts a sandbox again (`resume`, a worker's takeover). A running one
/// gives its `/workspace` back first, so the agent's work since the last copy is not lost;
/// then each is deleted (bounded waits throughout).
extension KubernetesBackend {
    struct Recovered: Sendable {
        var pods: [String] = []
        var entries = 0
        var failures: [String] = []
    }

    /// The run's pods (by its label); none when they cannot be listed.
    func runPods(_ run: String, namespace: String, client: KubeClient) async -> [PodStatus] {
        let selector = "\(PodSpec.runLabel)=\(PodSpec.labelValue(run))"
        guard let objects = try? await client.pods(namespace: namespace, selector: selector) else { return [] }
        return objects.map(PodStatus.init(object:)).filter { !$0.name.isEmpty }
    }

    func recoverStalePods(_ pods: [PodStatus], workspace: WorkspaceSync?, namespace: String,
                          client: KubeClient) async -> Recovered {
        var recovered = Recovered()
        for pod in pods {
            if let workspace, pod.phase == "Running", pod.mainRunning {
                do {
                    if case .copied(let summary) = try await client.copyWorkspaceOut(workspace, pod: pod.name, namespace: namespace,
                                                                                     timeout: options.syncTimeout) {
                        recovered.entries += summary.entries
                    }
                } catch {
                    recovered.failures.append("\(pod.name): \(error.message)")
                }
            }
            await client.deletePodAndWait(pod.name, namespace: namespace)
            recovered.pods.append(pod.name)
        }
        return recovered
    }
}
