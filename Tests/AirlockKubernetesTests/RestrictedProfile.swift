/// The "restricted" Pod Security Standard (Kubernetes 1.22+ enforces it by admission; 1.20
/// has none, so the test checks the created pod's spec itself), control by control.
enum RestrictedProfile {
    static func violations(_ pod: [String: Any]) -> [String] {
        var found: [String] = []
        let spec = pod["spec"] as? [String: Any] ?? [:]
        let podContext = spec["securityContext"] as? [String: Any] ?? [:]
        for key in ["hostNetwork", "hostPID", "hostIPC"] where spec[key] as? Bool == true { found.append("spec.\(key)") }
        for volume in spec["volumes"] as? [[String: Any]] ?? [] {
            let allowed: Set<String> = ["name", "emptyDir", "configMap", "secret", "projected", "downwardAPI",
                                        "persistentVolumeClaim", "ephemeral", "csi"]
            for key in volume.keys where !allowed.contains(key) { found.append("volume \(volume["name"] ?? "?") uses \(key)") }
        }
        if let sysctls = podContext["sysctls"] as? [Any], !sysctls.isEmpty { found.append("pod sysctls") }
        let podNonRoot = podContext["runAsNonRoot"] as? Bool
        let podUser = podContext["runAsUser"] as? Int
        let podSeccomp = (podContext["seccompProfile"] as? [String: Any])?["type"] as? String
        let containers = (spec["initContainers"] as? [[String: Any]] ?? []) + (spec["containers"] as? [[String: Any]] ?? [])
        for container in containers {
            let name = container["name"] as? String ?? "?"
            let context = container["securityContext"] as? [String: Any] ?? [:]
            if context["privileged"] as? Bool == true { found.append("\(name): privileged") }
            if context["allowPrivilegeEscalation"] as? Bool != false { found.append("\(name): allowPrivilegeEscalation not false") }
            if (context["runAsNonRoot"] as? Bool ?? podNonRoot) != true { found.append("\(name): runAsNonRoot not true") }
            if (context["runAsUser"] as? Int ?? podUser) == 0 { found.append("\(name): runAsUser 0") }
            let seccomp = (context["seccompProfile"] as? [String: Any])?["type"] as? String ?? podSeccomp
            if seccomp != "RuntimeDefault" && seccomp != "Localhost" { found.append("\(name): seccompProfile \(seccomp ?? "unset")") }
            let capabilities = context["capabilities"] as? [String: Any] ?? [:]
            if !((capabilities["drop"] as? [String]) ?? []).contains("ALL") { found.append("\(name): capabilities not dropping ALL") }
            let added = (capabilities["add"] as? [String]) ?? []
            if added.contains(where: { $0 != "NET_BIND_SERVICE" }) { found.append("\(name): adds \(added)") }
            if let ports = container["ports"] as? [[String: Any]], ports.contains(where: { $0["hostPort"] != nil }) {
                found.append("\(name): hostPort")
            }
            if (context["procMount"] as? String).map({ $0 != "Default" }) == true { found.append("\(name): procMount") }
        }
        return found
    }
}
