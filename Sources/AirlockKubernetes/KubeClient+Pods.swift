import Foundation
import NIOHTTP1

/// Pods and network policies: the only resources the backend touches.
extension KubeClient {
    static func podsPath(_ namespace: String) -> String { "/api/v1/namespaces/\(namespace)/pods" }

    public func createPod(_ pod: [String: Any], namespace: String) async throws(KubeError) -> [String: Any] {
        try await object(.POST, Self.podsPath(namespace), body: pod)
    }

    public func pod(_ name: String, namespace: String) async throws(KubeError) -> [String: Any] {
        try await object(.GET, Self.podsPath(namespace) + "/" + name)
    }

    /// Pods whose labels match `selector` (e.g. `airlock.dev/run=abc`).
    public func pods(namespace: String, selector: String) async throws(KubeError) -> [[String: Any]] {
        let query = selector.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "=,&+"))) ?? selector
        let list = try await object(.GET, Self.podsPath(namespace) + "?labelSelector=" + query)
        return list["items"] as? [[String: Any]] ?? []
    }

    /// Deletes at once (grace 0); a pod already gone is not an error.
    public func deletePod(_ name: String, namespace: String) async throws(KubeError) {
        let body = try? JSONSerialization.data(withJSONObject: ["kind": "DeleteOptions", "apiVersion": "v1",
                                                                "gracePeriodSeconds": 0, "propagationPolicy": "Background"])
        do {
            try await call(.DELETE, Self.podsPath(namespace) + "/" + name, body: body)
        } catch let error where error.isNotFound {
            return
        }
    }

    /// Deletes, then waits (bounded, watching) until the apiserver no longer has the pod.
    public func deletePodAndWait(_ name: String, namespace: String, timeout: Duration = .seconds(20)) async {
        try? await deletePod(name, namespace: namespace)
        _ = try? await watchPod(name, namespace: namespace, timeout: timeout) { pod in pod == nil ? true : nil }
    }

    /// Waits (polling, bounded by `timeout`) until the pod's `main` container runs. Image
    /// pull failures, a failed container and a pod that ended are reported at once. With a
    /// `probe`, once the pod is on a node the probe runs on each poll (an exec in `main`):
    /// true means `main` runs, though the status (which the kubelet refreshes about once a
    /// second) may not say so yet, and ends the wait. An exec before `main` exists is refused
    /// at once and costs a round trip; probing often is what makes the start as quick as the
    /// kubelet. A probe still refused 5 s after the status says `main` runs is an error.
    public func waitForRunning(_ name: String, namespace: String, timeout: Duration,
                               probe: (@Sendable (PodStatus) async -> Bool)? = nil) async throws(KubeError) -> PodStatus {
        let deadline = ContinuousClock.now + timeout
        var last = PodStatus(object: [:])
        var refusedSince: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            last = PodStatus(object: try await pod(name, namespace: namespace))
            if let failure = last.failure { throw KubeError(status: 0, reason: failure.reason, message: failure.message) }
            guard let probe else {
                if last.mainRunning { return last }
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            if last.bound, await probe(last) { return last }
            if last.mainRunning {
                let since = refusedSince ?? .now
                refusedSince = since
                if ContinuousClock.now - since > .seconds(5) {
                    throw KubeError(status: 0, reason: "ExecRefused",
                                    message: "pod \(name) runs, but an exec in its main container is refused (are pods/exec create and get allowed?)")
                }
            }
            try? await Task.sleep(for: .milliseconds(last.bound ? 20 : 50))
        }
        throw KubeError(status: 0, reason: "Timeout",
                        message: "pod \(name) did not start within \(timeout) (phase \(last.phase)\(last.waitingSummary))")
    }

    /// Creates the namespace's default-deny egress policy for sandbox pods when missing.
    /// Returns whether it was created.
    @discardableResult
    public func ensureDenyEgressPolicy(namespace: String, name: String = "airlock-sandbox-deny-egress",
                                       selector: [String: String]) async throws(KubeError) -> Bool {
        let path = "/apis/networking.k8s.io/v1/namespaces/\(namespace)/networkpolicies"
        do {
            _ = try await object(.GET, path + "/" + name)
            return false
        } catch let error where error.isNotFound {}
        let policy: [String: Any] = [
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": ["name": name, "labels": ["app.kubernetes.io/managed-by": "airlock"]],
            "spec": ["podSelector": ["matchLabels": selector], "policyTypes": ["Ingress", "Egress"],
                     "ingress": [] as [Any], "egress": [] as [Any]],
        ]
        do {
            _ = try await object(.POST, path, body: policy)
        } catch let error where error.status == 409 {
            return false
        }
        return true
    }
}
