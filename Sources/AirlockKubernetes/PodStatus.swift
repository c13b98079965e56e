/// What the backend reads off a pod's status.
public struct PodStatus: @unchecked Sendable {
    public var object: [String: Any]

    public init(object: [String: Any]) { self.object = object }

    var metadata: [String: Any] { object["metadata"] as? [String: Any] ?? [:] }
    var status: [String: Any] { object["status"] as? [String: Any] ?? [:] }
    public var uid: String { metadata["uid"] as? String ?? "" }
    public var name: String { metadata["name"] as? String ?? "" }
    public var phase: String { status["phase"] as? String ?? "Unknown" }
    public var node: String { (object["spec"] as? [String: Any])?["nodeName"] as? String ?? "" }
    public var runtimeClass: String? { (object["spec"] as? [String: Any])?["runtimeClassName"] as? String }
    public var labels: [String: String] { metadata["labels"] as? [String: String] ?? [:] }
    public var annotations: [String: String] { metadata["annotations"] as? [String: String] ?? [:] }
    public var creationTimestamp: String { metadata["creationTimestamp"] as? String ?? "" }
    /// Being deleted (it may run on through its grace period).
    public var deleting: Bool { metadata["deletionTimestamp"] != nil }

    /// Every container's, `guest` first (init containers': pods made by earlier versions).
    var containerStatuses: [[String: Any]] {
        (status["initContainerStatuses"] as? [[String: Any]] ?? []) + (status["containerStatuses"] as? [[String: Any]] ?? [])
    }

    public var mainRunning: Bool {
        phase == "Running" && (status["containerStatuses"] as? [[String: Any]] ?? []).contains {
            $0["name"] as? String == "main" && ($0["state"] as? [String: Any])?["running"] != nil
        }
    }

    /// The pod has ended, or its `main` container has (an exec there can only fail).
    public var mainEnded: Bool {
        phase == "Failed" || phase == "Succeeded" || (status["containerStatuses"] as? [[String: Any]] ?? []).contains {
            $0["name"] as? String == "main" && ($0["state"] as? [String: Any])?["terminated"] != nil
        }
    }

    /// The scheduler has put the pod on a node: from then on the kubelet may start `main`
    /// (after the `guest` container's postStart hook), well before the status says so.
    public var bound: Bool { !node.isEmpty }

    /// Why the pod can never run, when that is already known.
    /// A container's own reason comes first: it says what to fix (the `guest` container
    /// first, whose failure also fails `main`).
    public var failure: (reason: String, message: String)? {
        for container in containerStatuses {
            let name = container["name"] as? String ?? "?"
            let state = container["state"] as? [String: Any] ?? [:]
            if let waiting = state["waiting"] as? [String: Any], let reason = waiting["reason"] as? String,
               ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError",
                "CreateContainerError", "RunContainerError", "CrashLoopBackOff"].contains(reason) {
                let image = container["image"] as? String ?? "?"
                return (reason, "container \(name) (image \(image)): \(reason): \(waiting["message"] as? String ?? "")")
            }
            if let terminated = state["terminated"] as? [String: Any], let code = terminated["exitCode"] as? Int, code != 0 {
                return (name == GuestImage.containerName ? "GuestFailed" : "ContainerFailed", "container \(name) exited with \(code): \(terminated["reason"] as? String ?? "") \(terminated["message"] as? String ?? "")")
            }
        }
        if phase == "Failed" || phase == "Succeeded" {
            return ("PodEnded", "the pod ended (phase \(phase)\(status["reason"].map { ", \($0)" } ?? ""))")
        }
        return nil
    }

    var waitingSummary: String {
        let reasons = containerStatuses.compactMap { container -> String? in
            guard let waiting = (container["state"] as? [String: Any])?["waiting"] as? [String: Any] else { return nil }
            return "\(container["name"] as? String ?? "?"): \(waiting["reason"] as? String ?? "waiting")"
        }
        let conditions = (status["conditions"] as? [[String: Any]] ?? []).compactMap { condition -> String? in
            guard condition["status"] as? String == "False", let message = condition["message"] as? String else { return nil }
            return message
        }
        let all = reasons + conditions
        return all.isEmpty ? "" : "; " + all.joined(separator: "; ")
    }
}
