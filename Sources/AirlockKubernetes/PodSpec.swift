import AirlockSandbox
import Foundation

/// The hardened pod a sandbox runs in. Meets the "restricted" Pod Security Standard: no
/// service-account token, no service links, non-root unprivileged uid, no privilege
/// escalation, every capability dropped, RuntimeDefault seccomp, read-only root with
/// size-limited emptyDirs, requests = limits, no DNS (a loopback nameserver nothing answers on), never restarted.
/// Two containers: `guest` (from the guest image; its postStart hook copies the guest into
/// a shared emptyDir, then it idles) and `main` (the sandbox's image; the guest's volume is
/// read-only there), where the harness execs the guest.
public enum PodSpec {
    public static let managedBy = ["app.kubernetes.io/managed-by": "airlock"]
    public static let sandboxLabel = "airlock.dev/sandbox"
    public static let runLabel = "airlock.dev/run"
    /// The `guest` container's own: it idles once its postStart hook has copied the guest.
    /// Requests = limits keeps the pod Guaranteed; the CPU is what the hook needs to finish
    /// within one CFS period or two (measured: 100m doubles its time, 1000m saves ~30 ms).
    static let guestResources = ["cpu": "200m", "memory": "64Mi", "ephemeral-storage": "64Mi"]

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
            "containers": [[
                // Listed first: the kubelet starts a pod's containers in order and runs each
                // one's postStart hook to its end before starting the next, so `main` starts
                // with the guest in place, without waiting for the kubelet's next look at the
                // pod (up to 1 s) as it would after an init container.
                "name": GuestImage.containerName, "image": options.guestImage, "imagePullPolicy": "IfNotPresent",
                // It idles until `main`'s pid 1 ends, then exits, so the pod ends with `main`.
                "command": GuestImage.launch(directory: GuestImage.sourceDirectory, arguments: ["--idle", "--until-main-ends"]),
                "lifecycle": ["postStart": ["exec": ["command": GuestImage.launch(
                    directory: GuestImage.sourceDirectory,
                    arguments: ["--install", GuestImage.sourceDirectory, GuestImage.installDirectory])]]],
                "securityContext": securityContext, "volumeMounts": [guestMount],
                "resources": ["limits": Self.guestResources, "requests": Self.guestResources],
            ] as [String: Any], [
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
