import AirlockProtocol
import AirlockSandbox
import Foundation

/// A resumed run (`airlock resume`, a worker's takeover) whose pod still runs gets that pod
/// back: a fresh guest is started in it with `--fence`, which first kills what the earlier
/// guest left (that guest too, if its exec outlived its harness), so no two harnesses ever
/// act in one pod. The pod's `/workspace` is the run's newest copy, so nothing is copied in;
/// it comes back to the host when the sandbox ends, as always. Other pods of the run (an
/// older one, one that is ending) are deleted. When the pod cannot be had back (it is not
/// running, its guest does not greet), the caller falls back to recovering its work and
/// starting a new pod.
extension KubernetesBackend {
    func reattach(_ pods: [PodStatus], id: String, namespace: String, client: KubeClient, began: ContinuousClock.Instant,
                  egress: EgressAttachment?) async -> KubernetesSandbox? {
        // The newest running pod that is not being deleted.
        guard let live = pods.filter({ $0.mainRunning && !$0.deleting })
            .max(by: { $0.creationTimestamp < $1.creationTimestamp }) else { return nil }
        let sandbox: KubernetesSandbox
        do {
            // This harness's egress CA (a resumed run's proxy may have made a new one).
            if let egress, let trust = PodEgress.trustArchive(egress) {
                try await client.unpack(trust, into: GuestImage.runDirectory, what: "the egress CA", pod: live.name,
                                        namespace: namespace, timeout: .seconds(30))
            }
            sandbox = try await attach(pod: live, id: id, namespace: namespace, client: client, began: began, egress: egress,
                                       guestArguments: ["--fence"], deleteOnFailure: false)
        } catch {
            return nil
        }
        for other in pods where other.name != live.name {
            await client.deletePodAndWait(other.name, namespace: namespace)
        }
        sandbox.recovered = ["reattached": "true"]
        if let fenced = sandbox.fenced { sandbox.recovered["fenced_processes"] = "\(fenced)" }
        return sandbox
    }
}
