import AirlockSandbox
import Glibc

/// A cgroup v2 group: memory.max, pids.max, cpu.max and cgroup.kill where the hierarchy
/// delegates them. Even with no controllers it still tracks and kills the tree.
package struct CgroupV2: ControlGroup {
    package let path: String

    package var procsFiles: [String] { [path + "/cgroup.procs"] }
    package var cloneDirectory: String? { path }

    /// Creates `<parent>/<name>` and applies the limits the parent's controllers allow.
    package static func create(parent: String, name: String, limits: ResourceLimits,
                       controllers: Set<String>) -> CgroupV2? {
        let path = parent + "/" + name
        guard CgroupFile.makeDirectory(path) else { return nil }
        let group = CgroupV2(path: path)
        if let memory = limits.memoryBytes, controllers.contains("memory") {
            _ = CgroupFile.write(path + "/memory.max", String(memory))
            _ = CgroupFile.write(path + "/memory.swap.max", "0")
            _ = CgroupFile.write(path + "/memory.oom.group", "1")
        }
        if let pids = limits.pids, controllers.contains("pids") {
            _ = CgroupFile.write(path + "/pids.max", String(pids))
        }
        if let cpus = limits.cpus, controllers.contains("cpu") {
            _ = CgroupFile.write(path + "/cpu.max", "\(Int(cpus * 100_000)) 100000")
        }
        return group
    }

    package func killAll() {
        let procs = path + "/cgroup.procs"
        if CgroupFile.write(path + "/cgroup.kill", "1") {
            // The kernel signals each change of cgroup.events: waking on it, not on a 1 ms
            // sleep, takes a millisecond off every sandbox's end.
            if !CgroupFile.awaitUnpopulated(path + "/cgroup.events", timeoutMs: 500) {
                for _ in 0..<500 {
                    if CgroupFile.pids(procs).isEmpty { break }
                    usleep(1000)
                }
            }
        }
        // Kernels before 5.14 lack cgroup.kill: freeze-free loop, bounded by pids.max.
        CgroupKill.loop(procsFile: procs)
    }

    package func remove() { CgroupFile.removeDirectory(path) }

    package func peakMemoryBytes() -> Int? {
        CgroupFile.read(path + "/memory.peak").flatMap { Int($0.trimmingSpaces) }
    }

    package func oomKilled() -> Bool {
        guard let events = CgroupFile.read(path + "/memory.events") else { return false }
        return events.split(whereSeparator: \.isNewline).contains { line in
            let parts = line.split(separator: " ")
            return parts.count == 2 && parts[0] == "oom_kill" && parts[1] != "0"
        }
    }
}

package enum CgroupKill {
    /// SIGKILL everything listed until the group stays empty.
    package static func loop(procsFile: String) {
        for _ in 0..<200 {
            let pids = CgroupFile.pids(procsFile)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(1000)
        }
    }
}

extension String {
    package var trimmingSpaces: String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
