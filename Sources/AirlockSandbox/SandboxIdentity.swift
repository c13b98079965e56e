import Foundation
import Glibc

/// The host uid the sandbox runs as.
///
/// A harness running as root must not start bwrap as root: inside uid 1000 would then map
/// to host uid 0, and any bound root-only file would be readable. So root changes to an
/// unprivileged uid before bwrap starts: the workspace owner's when that is a regular user,
/// else a dedicated uid (65532, or AIRLOCK_SANDBOX_UID) to which the workspace is handed.
struct SandboxIdentity: Sendable, Hashable {
    var uid: uid_t
    var gid: gid_t
    /// Whether the harness changes uid before exec (it runs as root).
    var changesIDs: Bool

    static let defaultSandboxUID: uid_t = 65532

    static func resolve(workspace: String, keepRoot: Bool) throws(SandboxError) -> SandboxIdentity {
        guard geteuid() == 0, !keepRoot else {
            return SandboxIdentity(uid: geteuid(), gid: getegid(), changesIDs: false)
        }
        var info = stat()
        guard stat(workspace, &info) == 0 else {
            throw SandboxError(.configuration, "workspace \(workspace) cannot be read")
        }
        if info.st_uid != 0 {
            return SandboxIdentity(uid: info.st_uid, gid: info.st_gid, changesIDs: true)
        }
        let uid = ProcessInfo.processInfo.environment["AIRLOCK_SANDBOX_UID"].flatMap { uid_t($0) }
            ?? defaultSandboxUID
        guard uid != 0 else { throw SandboxError(.configuration, "AIRLOCK_SANDBOX_UID must not be 0") }
        try handOver(workspace, to: uid)
        return SandboxIdentity(uid: uid, gid: uid, changesIDs: true)
    }

    /// Directories never handed to the sandbox uid, whatever the user passed.
    static let protected: Set<String> = ["/", "/root", "/home", "/etc", "/usr", "/var", "/tmp",
                                         "/opt", "/srv", "/boot", "/run", "/bin", "/lib", "/sbin"]

    /// chown -R the root-owned workspace to the sandbox uid (symlinks themselves, never
    /// their targets), so the unprivileged sandbox can write it.
    static func handOver(_ workspace: String, to uid: uid_t) throws(SandboxError) {
        let home = ProcessInfo.processInfo.environment["HOME"]
        if protected.contains(workspace) || workspace == home {
            throw SandboxError(.configuration,
                               "refusing to hand \(workspace) to the sandbox user (uid \(uid)): it is a system or home directory",
                               fix: "pass --workspace with a project directory, e.g. --workspace ./my-project")
        }
        guard lchown(workspace, uid, uid) == 0 else {
            throw SandboxError(.configuration, "cannot chown \(workspace) to uid \(uid): \(String(cString: strerror(errno)))")
        }
        let enumerator = FileManager.default.enumerator(atPath: workspace)
        while let relative = enumerator?.nextObject() as? String {
            _ = lchown(workspace + "/" + relative, uid, uid)
        }
    }
}
