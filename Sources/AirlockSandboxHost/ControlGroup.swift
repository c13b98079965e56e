import AirlockSandbox
import Glibc

/// One sandbox's cgroup(s): limits applied before the sandbox starts, its processes joined
/// at spawn, and the whole tree killed at the end (daemons that double-forked included).
public protocol ControlGroup: Sendable {
    /// `cgroup.procs` files of the group (the first process joins them before exec; the
    /// kill reads them).
    var procsFiles: [String] { get }
    /// A cgroup v2 directory the first process can be started in directly
    /// (clone3 CLONE_INTO_CGROUP), instead of joining `procsFiles` after fork.
    var cloneDirectory: String? { get }
    /// Kills every process in the group and waits until it is empty.
    func killAll()
    /// Removes the group's directories (after `killAll`).
    func remove()
    /// Peak memory use in bytes, when the controller reports it.
    func peakMemoryBytes() -> Int?
    /// Whether the kernel's OOM killer acted in this group.
    func oomKilled() -> Bool
}

/// Small file helpers for cgroupfs.
package enum CgroupFile {
    package static func write(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return Glibc.write(fd, bytes, bytes.count) == bytes.count
    }

    package static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            result += buffer[0..<count]
        }
        return String(decoding: result, as: UTF8.self)
    }

    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    package static func makeDirectory(_ path: String) -> Bool {
        mkdir(path, 0o755) == 0 || errno == EEXIST
    }

    package static func pids(_ procsFile: String) -> [pid_t] {
        (read(procsFile) ?? "").split(whereSeparator: \.isNewline).compactMap { pid_t($0) }
    }

    /// rmdir succeeds only once the kernel has let go of the last task; retry briefly.
    package static func removeDirectory(_ path: String) {
        for _ in 0..<500 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            usleep(200)
        }
    }

    /// Waits until a cgroup v2 `cgroup.events` file reads `populated 0`, woken by the
    /// kernel's POLLPRI on each change. False when the file cannot be watched or the group
    /// is still populated at the deadline (the caller then polls `cgroup.procs`).
    package static func awaitUnpopulated(_ eventsFile: String, timeoutMs: Int) -> Bool {
        let fd = open(eventsFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = pread(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return false }
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            if text.split(whereSeparator: \.isNewline).contains("populated 0") { return true }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            var watch = pollfd(fd: fd, events: Int16(POLLPRI), revents: 0)
            let waitMs = Int32(min(Double(timeoutMs), left / .milliseconds(1)).rounded(.up))
            if poll(&watch, 1, max(1, waitMs)) < 0 && errno != EINTR { return false }
        }
    }
}
