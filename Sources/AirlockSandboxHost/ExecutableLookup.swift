import AirlockSandbox
import CAirlockSys
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Synchronization

/// Finds host tools (bwrap, crun, runc, runsc) on PATH and asks them their version.
public enum ExecutableLookup {
    /// The first executable `name` on PATH, then in /usr/bin, /usr/sbin, /usr/local/bin.
    public static func find(_ name: String) -> String? {
        if name.hasPrefix("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map { "\($0)/\(name)" }
            + ["/usr/bin/\(name)", "/usr/sbin/\(name)", "/usr/local/bin/\(name)"])
            .first { access($0, X_OK) == 0 }
    }

    /// stdout and stderr of `path arguments`, or nil when it cannot run or outlives `timeout`
    /// seconds (it is killed then: a hanging runtime must not hang `doctor`).
    ///
    /// Started and reaped here (fork/exec, poll, waitpid on this thread), not with
    /// Foundation's `Process`: its exit is reported on a dispatch queue, and callers block in
    /// Swift's concurrency pool (the backend's version, asked for each sandbox's ledger
    /// entry; an OCI sandbox's teardown). With every pool thread blocked that way the report
    /// never came, and each waited out its timeout: runs started side by side on this 2-core
    /// machine stalled 5 s before their first step.
    public static func output(_ path: String, _ arguments: [String], timeout: Double = 5) -> String? {
        run(path, arguments, timeout: timeout)?.output
    }

    /// What one run of a host tool gave: its wait status and its stdout and stderr together.
    public struct ToolRun: Sendable {
        public var waitStatus: Int32
        public var output: String
        /// Exited on its own with status 0.
        public var succeeded: Bool { airlock_wifexited(waitStatus) != 0 && airlock_wexitstatus(waitStatus) == 0 }
    }

    /// Runs `path arguments` with stdin on /dev/null, as `output` does; nil when it cannot
    /// run or outlives `timeout` seconds (then it is killed). A nil timeout waits as long as
    /// the tool takes (an `rm -rf` of a large tree).
    public static func run(_ path: String, _ arguments: [String], timeout: Double?) -> ToolRun? {
        var pipe: [Int32] = [-1, -1]
        guard airlock_pipe(&pipe, O_CLOEXEC) == 0 else { return nil }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let fdMap = [pipe[1], 1, pipe[1], 2] + (devNull >= 0 ? [devNull, 0] : [])
        let started = withSpawnOptions(argv: [path] + arguments, environment: environment, fdMap: fdMap) {
            airlock_spawn(&$0, &pid)
        }
        close(pipe[1])
        if devNull >= 0 { close(devNull) }
        guard started == 0 else {
            close(pipe[0])
            return nil
        }
        let (output, complete) = readToEnd(pipe[0], until: timeout.map { ContinuousClock.now + .milliseconds(Int($0 * 1000)) })
        close(pipe[0])
        if !complete { kill(pid, SIGKILL) }
        var status: Int32 = 0
        _ = airlock_wait4(pid, &status, 0, nil)
        return complete ? ToolRun(waitStatus: status, output: String(decoding: output, as: UTF8.self)) : nil
    }

    /// Everything `fd` yields until its end (true), or what came before `deadline` (false).
    private static func readToEnd(_ fd: Int32, until deadline: ContinuousClock.Instant?) -> ([UInt8], Bool) {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var waitMs: Int32 = -1
            if let deadline {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { return (output, false) }
                waitMs = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, waitMs)
            if ready < 0 {
                if errno == EINTR { continue }
                return (output, false)
            }
            if ready == 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                output += buffer[0..<count]
            } else if count == 0 {
                return (output, true)
            } else if errno != EINTR && errno != EAGAIN {
                return (output, false)
            }
        }
    }

    /// The first line of `--version`, trimmed.
    public static func version(_ path: String, flag: String = "--version") -> String? {
        output(path, [flag])?.split(whereSeparator: \.isNewline).first.map {
            String($0).trimmingSpaces
        }
    }

    private static let versions = Mutex<[String: String?]>([:])

    /// `version(path)`, asked once per process (the ledger names it for every sandbox). A
    /// tool that gave no version is not asked again either: it would cost every sandbox a
    /// process, and its timeout if it hangs.
    public static func cachedVersion(_ path: String) -> String? {
        if let known = versions.withLock({ $0[path] }) { return known }
        let found = version(path)
        versions.withLock { $0[path] = .some(found) }
        return found
    }
}
