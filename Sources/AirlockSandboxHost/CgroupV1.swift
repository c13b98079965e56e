import AirlockSandbox
import Glibc

/// cgroup v1: one group per controller hierarchy (memory, pids, cpu, freezer). The freezer
/// stops the tree before the kill so nothing forks in between.
package struct CgroupV1: ControlGroup {
    /// controller name → group directory.
    package let paths: [String: String]

    package var procsFiles: [String] { paths.values.sorted().map { $0 + "/cgroup.procs" } }
    package var cloneDirectory: String? { nil }

    package static func create(mounts: [String: String], name: String, limits: ResourceLimits) -> CgroupV1? {
        var paths: [String: String] = [:]
        for (controller, base) in mounts {
            let path = base + "/" + name
            guard CgroupFile.makeDirectory(path) else { continue }
            paths[controller] = path
        }
        guard !paths.isEmpty else { return nil }
        if let memory = limits.memoryBytes, let path = paths["memory"] {
            _ = CgroupFile.write(path + "/memory.limit_in_bytes", String(memory))
            // Count swap too, so a limit cannot be dodged by swapping out.
            _ = CgroupFile.write(path + "/memory.memsw.limit_in_bytes", String(memory))
            _ = CgroupFile.write(path + "/memory.swappiness", "0")
        }
        if let pids = limits.pids, let path = paths["pids"] {
            _ = CgroupFile.write(path + "/pids.max", String(pids))
        }
        if let cpus = limits.cpus, let path = paths["cpu"] {
            _ = CgroupFile.write(path + "/cpu.cfs_period_us", "100000")
            _ = CgroupFile.write(path + "/cpu.cfs_quota_us", String(Int(cpus * 100_000)))
        }
        return CgroupV1(paths: paths)
    }

    package func killAll() {
        let freezer = paths["freezer"]
        if let freezer { _ = CgroupFile.write(freezer + "/freezer.state", "FROZEN") }
        for file in procsFiles {
            for pid in CgroupFile.pids(file) { kill(pid, SIGKILL) }
        }
        if let freezer { _ = CgroupFile.write(freezer + "/freezer.state", "THAWED") }
        for file in procsFiles { CgroupKill.loop(procsFile: file) }
    }

    package func remove() {
        for path in paths.values { CgroupFile.removeDirectory(path) }
    }

    package func peakMemoryBytes() -> Int? {
        paths["memory"].flatMap { CgroupFile.read($0 + "/memory.max_usage_in_bytes") }
            .flatMap { Int($0.trimmingSpaces) }
    }

    package func oomKilled() -> Bool {
        guard let path = paths["memory"], let control = CgroupFile.read(path + "/memory.oom_control")
        else { return false }
        return control.split(whereSeparator: \.isNewline).contains { line in
            let parts = line.split(separator: " ")
            return parts.count == 2 && parts[0] == "oom_kill" && parts[1] != "0"
        }
    }
}
