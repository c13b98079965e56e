import AirlockSandbox
import Foundation

/// The hardened pod a sandbox runs in. Meets the "restricted" Pod Security Standard: no
/// service-account token, no service links, non-root unprivileged uid, no privilege
/// escalation, every capability dropped, RuntimeDefault seccomp, read-only root with
/// size-limited emptyDirs, requests = limits, no DNS (a loopback nameserver nothing answers on), never restarted.
public enum PodSpec {
    public static let managedBy = ["app.kubernetes.io/managed-by": "airlock"]
    public static let sandboxLabel = "airlock.dev/sandbox"
    public static let runLabel = "airlock.dev/run"

    public static func make(name: String, sandboxID: String, options: KubernetesOptions,
                            configuration: SandboxConfiguration) -> [String: Any] {
        var labels = managedBy
        labels[sandboxLabel] = sandboxID
        if let run = options.runID { labels[runLabel] = Self.labelValue(run) }
        let memory = configuration.limits.memoryBytes ?? options.defaultMemoryBytes
        let cpus = configuration.limits.cpus ?? options.defaultCPUs
        let resources: [String: Any] = [
            "cpu": "\(Int((cpus * 1000).rounded()))m", "memory": "\(memory)",
            "ephemeral-storage": "\(options.ephemeralStorageBytes)",
        ]
        let securityContext: [String: Any] = [
            "allowPrivilegeEscalation": false, "privileged": false, "readOnlyRootFilesystem": true,
            "runAsNonRoot": true, "runAsUser": options.uid, "runAsGroup": options.uid,
            "capabilities": ["drop": ["ALL"]], "seccompProfile": ["type": "RuntimeDefault"],
        ]
        let guestMount: [String: Any] = ["name": "airlock-guest", "mountPath": GuestImage.installDirectory]
        var variables = configuration.environment
        if configuration.network == .proxy, let egress = configuration.egress {
            variables.merge(PodEgress.environment(egress)) { _, egress in egress }
        }
        var environment = variables.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] }
        environment.append(["name": "HOME", "value": "/home/agent"])
        var spec: [String: Any] = [
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "activeDeadlineSeconds": options.activeDeadlineSeconds,
            "dnsPolicy": "None",
            // The API needs one nameserver with dnsPolicy None: loopback, where nothing answers.
            "dnsConfig": ["nameservers": ["127.0.0.1"], "searches": [] as [String]],
            "hostNetwork": false, "hostPID": false, "hostIPC": false,
            "securityContext": [
                "runAsNonRoot": true, "runAsUser": options.uid, "runAsGroup": options.uid, "fsGroup": options.uid,
                "seccompProfile": ["type": "RuntimeDefault"],
            ] as [String: Any],
            "initContainers": [[
                "name": "airlock-guest", "image": options.guestImage, "imagePullPolicy": "IfNotPresent",
                "command": GuestImage.launch(directory: GuestImage.sourceDirectory, arguments: ["--install", GuestImage.sourceDirectory, GuestImage.installDirectory]),
                "securityContext": securityContext, "volumeMounts": [guestMount],
                "resources": ["limits": ["cpu": "200m", "memory": "64Mi", "ephemeral-storage": "256Mi"],
                              "requests": ["cpu": "200m", "memory": "64Mi", "ephemeral-storage": "256Mi"]],
            ] as [String: Any]],
            "containers": [[
                "name": "main", "image": options.image, "imagePullPolicy": "IfNotPresent",
                // The container only waits; the guest is started with exec, and ends with its stream.
                "command": GuestImage.launch(directory: GuestImage.installDirectory, arguments: ["--idle"]),
                "workingDir": "/workspace", "env": environment,
                "securityContext": securityContext,
                "resources": ["limits": resources, "requests": resources],
                "volumeMounts": [guestMount.merging(["readOnly": true]) { _, new in new },
                                 ["name": "airlock-run", "mountPath": GuestImage.runDirectory],
                                 ["name": "workspace", "mountPath": "/workspace"],
                                 ["name": "tmp", "mountPath": "/tmp"],
                                 ["name": "home", "mountPath": "/home/agent"]],
            ] as [String: Any]],
            "volumes": [
                ["name": "airlock-guest", "emptyDir": ["sizeLimit": "128Mi"]],
                ["name": "airlock-run", "emptyDir": ["sizeLimit": "16Mi"]],
                ["name": "workspace", "emptyDir": ["sizeLimit": "\(options.workspaceBytes)"]],
                ["name": "tmp", "emptyDir": ["sizeLimit": "\(configuration.tmpSize)"]],
                ["name": "home", "emptyDir": ["sizeLimit": "\(options.homeBytes)"]],
            ],
        ]
        if let runtimeClass = options.runtimeClass { spec["runtimeClassName"] = runtimeClass }
        return [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": name, "labels": labels,
                         "annotations": ["airlock.dev/workspace": configuration.workspace]] as [String: Any],
            "spec": spec,
        ]
    }

    /// A label value: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends.
    static func labelValue(_ text: String) -> String {
        let allowed = text.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "-" }
        var value = String(allowed.prefix(63))
        while let last = value.last, !(last.isLetter || last.isNumber) { value.removeLast() }
        return value
    }
}
