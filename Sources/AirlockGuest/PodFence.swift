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
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var pids: [pid_t] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name), state(of: pid) != "Z", state(of: pid) != "X" else { continue }
            pids.append(pid)
        }
        return pids
    }

    /// The state letter of /proc/PID/stat (after the command name, which may hold spaces).
    static func state(of pid: pid_t) -> Character? {
        let text = read("/proc/\(pid)/stat")
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].first { $0 != " " }
    }

    static func arguments(of pid: pid_t) -> [String] {
        read("/proc/\(pid)/cmdline").split(separator: "\0").map(String.init)
    }

    private static func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

public struct FenceRefusal: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
