import AirlockSandbox
import Foundation
import Glibc
import AirlockBubblewrap
import AirlockSandboxHost

/// The scratch workspace and the identity the sandbox runs as, chosen the way
/// `SandboxIdentity` chooses it: a root harness changes to the workspace owner's uid, so the
/// bench hands its workspace to the sandbox uid once, up front (as the backend's first start
/// would), and the raw bwrap baseline changes to that same uid.
struct BenchHost: Sendable {
    let workspace: String
    let changesIDs: Bool
    let uid: uid_t
    let gid: gid_t
    let bwrapPath: String

    static func make() throws(BenchError) -> BenchHost {
        var template = Array("/tmp/airlock-bench-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw BenchError("cannot create a workspace under /tmp: \(String(cString: strerror(errno)))")
        }
        let created = String(cString: made)
        guard let resolved = realpath(created, nil) else { throw BenchError("cannot resolve \(created)") }
        let workspace = String(cString: resolved)
        free(resolved)
        chmod(workspace, 0o755)
        let bwrap = BubblewrapBackend.findBwrap() ?? "/usr/bin/bwrap"
        guard geteuid() == 0 else {
            return BenchHost(workspace: workspace, changesIDs: false, uid: geteuid(), gid: getegid(), bwrapPath: bwrap)
        }
        let uid = ProcessInfo.processInfo.environment["AIRLOCK_SANDBOX_UID"].flatMap { uid_t($0) } ?? 65532
        guard uid != 0, chown(workspace, uid, uid) == 0 else {
            throw BenchError("cannot hand \(workspace) to uid \(uid)")
        }
        return BenchHost(workspace: workspace, changesIDs: true, uid: uid, gid: uid, bwrapPath: bwrap)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: workspace)
    }

    var configuration: SandboxConfiguration { SandboxConfiguration(workspace: workspace) }

    /// The guest beside this executable (or AIRLOCK_GUEST), as the backend finds it.
    static func guestOnHost() -> String? {
        var candidates: [String] = []
        if let fromEnv = ProcessInfo.processInfo.environment["AIRLOCK_GUEST"] { candidates.append(fromEnv) }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent + "/airlock-guest")
        }
        return candidates.first { access($0, X_OK) == 0 }
    }

    /// The copy the backend stages for a sandbox uid (it exists once a sandbox started).
    func guestForSandbox() -> String? {
        guard let host = Self.guestOnHost() else { return nil }
        guard changesIDs else { return host }
        var info = stat()
        guard stat(host, &info) == 0 else { return nil }
        let staged = "/run/airlock/bin/airlock-guest-\(info.st_size)-\(info.st_mtim.tv_sec)-\(info.st_mtim.tv_nsec)"
        return access(staged, R_OK | X_OK) == 0 ? staged : nil
    }

    /// The backend's exact bwrap plan, with `command` in place of the guest when given.
    func plan(command: [String]? = nil) throws(BenchError) -> LaunchPlan {
        guard let guest = guestForSandbox() else {
            throw BenchError("airlock-guest not found (build it into the same folder as airlock-bench)")
        }
        let seccomp: [UInt8]
        do { seccomp = try SeccompFilter.program() } catch { throw BenchError("seccomp: \(error)") }
        var plan = BubblewrapLauncher(bwrapPath: bwrapPath, layout: .current())
            .plan(for: configuration, guestOnHost: guest, seccomp: seccomp)
        if let command {
            guard plan.argv.last == BubblewrapLauncher.guestPathInside else {
                throw BenchError("unexpected bwrap plan: it does not end with the guest")
            }
            plan.argv.removeLast()
            plan.argv += command
        }
        return plan
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
