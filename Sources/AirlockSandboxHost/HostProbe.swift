import AirlockSandbox
import CAirlockSys
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Facts about this host for `airlock doctor`.
public struct HostProbe: Sendable {
    public var bwrapPath: String?
    public var bwrapVersion: String?
    public var userNamespaces: Bool
    public var userNamespaceDetail: String
    public var seccompFilter: Bool
    public var cgroups: CgroupHost
    public var cgroupLimits: Bool
    public var landlockABI: Int

    public static func current() -> HostProbe {
        let bwrap = ExecutableLookup.find("bwrap")
        let version = bwrap.flatMap { ExecutableLookup.version($0) }
        let clone = (try? String(contentsOfFile: "/proc/sys/kernel/unprivileged_userns_clone", encoding: .utf8))?
            .trimmingSpaces
        let maxNamespaces = (try? String(contentsOfFile: "/proc/sys/user/max_user_namespaces", encoding: .utf8))?
            .trimmingSpaces ?? "?"
        let userns = airlock_probe_userns() != 0
        let detail = "\(userns ? "available" : "refused") (max_user_namespaces=\(maxNamespaces)"
            + (clone.map { ", unprivileged_userns_clone=\($0)" } ?? "") + ")"
        let cgroups = CgroupHost.detect()
        var limitsOK = false
        let name = "doctor-\(getpid())"
        if let group = try? cgroups.makeGroup(name: name, limits: ResourceLimits(memoryBytes: 64 << 20, pids: 64, cpus: 1)) {
            limitsOK = true
            group.remove()
        }
        return HostProbe(bwrapPath: bwrap, bwrapVersion: version, userNamespaces: userns,
                         userNamespaceDetail: detail,
                         seccompFilter: (try? SeccompFilter.program()) != nil,
                         cgroups: cgroups, cgroupLimits: limitsOK,
                         landlockABI: Int(airlock_landlock_abi()))
    }
}
