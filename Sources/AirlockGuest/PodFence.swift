import Glibc

/// `airlock-guest --fence`: a guest started in a pod that an earlier guest served (a resumed
/// run, a worker's takeover) first ends everything that guest left running — the guest
/// itself, if its exec outlived the harness, and every command it started — so two harnesses
/// can never act in one pod. A pod's pid namespace holds only its idle main process (pid 1),
/// the guests started in it with exec and what they ran; all but pid 1 and this process go.
/// It refuses unless pid 1 is `airlock-guest --idle`: anywhere else it would be a killer.
public enum PodFence {
    /// Kills the pod's other processes until a pass finds none (zombies aside: they are
    /// already dead). Returns how many it killed, or why it refused.
    public static func fence() -> Result<Int, FenceRefusal> {
        let me = getpid()
        guard me != 1 else { return .failure(FenceRefusal("this process is pid 1: not a guest started in a pod")) }
        let first = arguments(of: 1)
        guard first.first.map({ $0.hasSuffix("airlock-guest") }) == true, first.contains("--idle") else {
            return .failure(FenceRefusal("pid 1 is not `airlock-guest --idle` (\(first.joined(separator: " "))): not an Airlock pod"))
        }
        var killed = Set<pid_t>()
        for _ in 0..<200 {
            let others = livePids().filter { $0 != 1 && $0 != me }
            if others.isEmpty { return .success(killed.count) }
            for pid in others where kill(pid, SIGKILL) == 0 { killed.insert(pid) }
            usleep(5000)
        }
        return .failure(FenceRefusal("processes of the earlier guest were still alive after 1 s"))
    }

    /// The pids in /proc that are not zombies.
    static func livePids() -> [pid_t] {
        ProcFiles.pids().filter { state(of: $0) != "Z" && state(of: $0) != "X" }
    }

    /// The state letter of /proc/PID/stat (after the command name, which may hold spaces).
    static func state(of pid: pid_t) -> Character? {
        let text = ProcFiles.text("/proc/\(pid)/stat")
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].first { $0 != " " }
    }

    static func arguments(of pid: pid_t) -> [String] {
        ProcFiles.text("/proc/\(pid)/cmdline").split(separator: "\0").map(String.init)
    }
}

public struct FenceRefusal: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
