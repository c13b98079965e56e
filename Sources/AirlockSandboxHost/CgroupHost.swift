import AirlockSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// What this host offers for cgroups, read from /proc/self/mounts and /proc/self/cgroup.
/// Machines differ: pure v2 (laptops), hybrid v1 + an empty v2 (this kind of server), or
/// v2 without delegation for an unprivileged user. The choice is made at run time.
public struct CgroupHost: Sendable, Hashable {
    /// Mount point of the v2 hierarchy, if any.
    public var v2Mount: String?
    /// Controllers the v2 root offers.
    public var v2Controllers: Set<String>
    /// v1 controller → directory of this process's group in that hierarchy.
    public var v1Groups: [String: String]

    public static func detect() -> CgroupHost {
        var v2Mount: String?
        var v1Mounts: [String: String] = [:]
        for line in (CgroupFile.read("/proc/self/mounts") ?? "").split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count >= 4 else { continue }
            let mountPoint = String(fields[1])
            if fields[2] == "cgroup2" {
                v2Mount = v2Mount ?? mountPoint
            } else if fields[2] == "cgroup" {
                for option in fields[3].split(separator: ",") {
                    let name = String(option)
                    if ["memory", "pids", "cpu", "freezer"].contains(name) { v1Mounts[name] = mountPoint }
                }
            }
        }
        var own: [String: String] = [:]
        for line in (CgroupFile.read("/proc/self/cgroup") ?? "").split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            for controller in parts[1].split(separator: ",") { own[String(controller)] = String(parts[2]) }
        }
        var v1Groups: [String: String] = [:]
        for (controller, mount) in v1Mounts {
            let relative = own[controller] ?? "/"
            v1Groups[controller] = relative == "/" ? mount : mount + relative
        }
        let controllers = v2Mount.flatMap { CgroupFile.read($0 + "/cgroup.controllers") } ?? ""
        return CgroupHost(v2Mount: v2Mount,
                          v2Controllers: Set(controllers.split(whereSeparator: \.isWhitespace).map(String.init)),
                          v1Groups: v1Groups)
    }

    /// Which controllers a limit set needs.
    package static func needed(_ limits: ResourceLimits) -> Set<String> {
        var needed: Set<String> = []
        if limits.memoryBytes != nil { needed.insert("memory") }
        if limits.pids != nil { needed.insert("pids") }
        if limits.cpus != nil { needed.insert("cpu") }
        return needed
    }

    /// Human-readable summary for `airlock doctor`.
    public var summary: String {
        var parts: [String] = []
        if let v2Mount {
            let list = v2Controllers.sorted().joined(separator: " ")
            parts.append("v2 at \(v2Mount) (controllers: \(list.isEmpty ? "none" : list))")
        }
        if !v1Groups.isEmpty { parts.append("v1 controllers: \(v1Groups.keys.sorted().joined(separator: ", "))") }
        return parts.isEmpty ? "no cgroup filesystem" : parts.joined(separator: "; ")
    }

    /// Makes a group for one sandbox with the limits enforced, or explains why it cannot.
    /// With no limits asked, a group is still made when possible (for the final kill), and
    /// its absence is not an error: the pid namespace's end kills the tree anyway.
    public func makeGroup(name: String, limits: ResourceLimits) throws(SandboxError) -> (any ControlGroup)? {
        let needed = Self.needed(limits)
        sweepAbandoned()
        if let v2Mount, needed.isSubset(of: v2Controllers), geteuid() == 0 {
            let base = v2Mount + "/airlock"
            if CgroupFile.makeDirectory(base) {
                let enable = needed.map { "+" + $0 }.joined(separator: " ")
                if !needed.isEmpty {
                    _ = CgroupFile.write(v2Mount + "/cgroup.subtree_control", enable)
                    _ = CgroupFile.write(base + "/cgroup.subtree_control", enable)
                }
                let delegated = Set((CgroupFile.read(base + "/cgroup.subtree_control") ?? "")
                    .split(whereSeparator: \.isWhitespace).map(String.init))
                if needed.isSubset(of: delegated),
                   let group = CgroupV2.create(parent: base, name: name, limits: limits, controllers: delegated) {
                    return group
                }
            }
        }
        // Each v1 hierarchy joined costs a cgroup migration (~5 ms here): join pids (it tracks
        // every process for the final kill) and only the controllers a limit needs.
        let v1Needed = needed.union(["pids"]).filter { v1Groups[$0] != nil }
        if needed.isSubset(of: Set(v1Groups.keys)), geteuid() == 0, !v1Needed.isEmpty {
            var mounts: [String: String] = [:]
            for controller in v1Needed {
                guard let own = v1Groups[controller] else { continue }
                let base = own + "/airlock"
                if CgroupFile.makeDirectory(base) { mounts[controller] = base }
            }
            if needed.isSubset(of: Set(mounts.keys)),
               let group = CgroupV1.create(mounts: mounts, name: name, limits: limits) {
                return group
            }
        }
        if needed.isEmpty { return nil }
        throw SandboxError(
            .unavailable,
            "cannot enforce \(needed.sorted().joined(separator: ", ")) limits: no writable cgroup with those controllers (\(summary))",
            fix: geteuid() == 0
                ? "mount the cgroup controllers (cgroup v2 with memory, pids and cpu delegated, or cgroup v1)"
                : "run as root, or under a delegated cgroup v2 subtree (systemd-run --user --scope -p Delegate=yes airlock …)")
    }

    /// Groups a SIGKILLed harness left behind (named `sbx-PID-…` by their creator): removed
    /// once empty and their creator is gone. rmdir refuses a group that still has tasks.
    package func sweepAbandoned() {
        var bases: [String] = v1Groups.values.map { $0 + "/airlock" }
        if let v2Mount { bases.append(v2Mount + "/airlock") }
        for base in bases {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { continue }
            for name in names where name.hasPrefix("sbx-") {
                let parts = name.split(separator: "-")
                guard parts.count >= 3, let pid = Int32(parts[1]), kill(pid, 0) != 0, errno == ESRCH else { continue }
                rmdir(base + "/" + name)
            }
        }
    }
}
