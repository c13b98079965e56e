import AirlockSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// The host uid the sandbox runs as.
///
/// A harness running as root must not start bwrap as root: inside uid 1000 would then map
/// to host uid 0, and any bound root-only file would be readable. So root changes to an
/// unprivileged uid before bwrap starts: the workspace owner's when that is a regular user,
/// else a dedicated uid (65532, or AIRLOCK_SANDBOX_UID) to which the workspace is handed.
package struct SandboxIdentity: Sendable, Hashable {
    package var uid: uid_t
    package var gid: gid_t
    /// Whether the harness changes uid before exec (it runs as root).
    package var changesIDs: Bool
    /// The owner a root-owned workspace had before it was handed to the sandbox uid; it
    /// gets the workspace back when the sandbox ends.
    package var originalOwner: Owner?

    package struct Owner: Sendable, Hashable {
        var uid: uid_t
        var gid: gid_t
    }

    package static let defaultSandboxUID: uid_t = 65532

    /// The harness's own ids, unchanged: for a runtime (crun, runsc) that starts as root
    /// and maps the sandbox to `resolve`'s uid itself.
    package static var harness: SandboxIdentity {
        SandboxIdentity(uid: geteuid(), gid: getegid(), changesIDs: false, originalOwner: nil)
    }

    package static func resolve(workspace: String, keepRoot: Bool) throws(SandboxError) -> SandboxIdentity {
        guard geteuid() == 0, !keepRoot else {
            return SandboxIdentity(uid: geteuid(), gid: getegid(), changesIDs: false, originalOwner: nil)
        }
        var info = stat()
        guard stat(workspace, &info) == 0 else {
            throw SandboxError(.configuration, "workspace \(workspace) cannot be read")
        }
        if info.st_uid != 0 {
            return SandboxIdentity(uid: info.st_uid, gid: info.st_gid, changesIDs: true, originalOwner: nil)
        }
        let uid = ProcessInfo.processInfo.environment["AIRLOCK_SANDBOX_UID"].flatMap { uid_t($0) }
            ?? defaultSandboxUID
        guard uid != 0 else { throw SandboxError(.configuration, "AIRLOCK_SANDBOX_UID must not be 0") }
        try handOver(workspace, to: uid, gid: uid)
        return SandboxIdentity(uid: uid, gid: uid, changesIDs: true, originalOwner: Owner(uid: info.st_uid, gid: info.st_gid))
    }

    /// Directories never handed to the sandbox uid, whatever the user passed.
    package static let protected: Set<String> = ["/", "/root", "/home", "/etc", "/usr", "/var", "/tmp",
                                         "/opt", "/srv", "/boot", "/run", "/bin", "/lib", "/sbin"]

    /// chown -R the root-owned workspace to the sandbox uid (symlinks themselves, never
    /// their targets), so the unprivileged sandbox can write it. `giveBack` reverses it when
    /// the sandbox ends, so a root-owned project (a git checkout) stays root's.
    package static func handOver(_ workspace: String, to uid: uid_t, gid: gid_t) throws(SandboxError) {
        let home = ProcessInfo.processInfo.environment["HOME"]
        if protected.contains(workspace) || workspace == home {
            throw SandboxError(.configuration,
                               "refusing to hand \(workspace) to the sandbox user (uid \(uid)): it is a system or home directory",
                               fix: "pass --workspace with a project directory, e.g. --workspace ./my-project")
        }
        guard lchown(workspace, uid, gid) == 0 else {
            throw SandboxError(.configuration, "cannot chown \(workspace) to uid \(uid): \(String(cString: strerror(errno)))")
        }
        chownTree(workspace, uid, gid)
    }

    /// Returns the workspace, and whatever the sandbox created in it, to its owner. Set-uid
    /// and set-gid bits the sandbox set on files are removed first: nothing the sandbox made
    /// becomes a privileged program of the owner (the kernel clears them on chown as well).
    package func giveBack(_ workspace: String) {
        guard let owner = originalOwner else { return }
        Self.chownTree(workspace, owner.uid, owner.gid, stripPrivilege: true)
    }

    private static func chownTree(_ root: String, _ uid: uid_t, _ gid: gid_t, stripPrivilege: Bool = false) {
        func apply(_ path: String) {
            if stripPrivilege {
                var info = stat()
                if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & (S_ISUID | S_ISGID) != 0 {
                    _ = chmod(path, info.st_mode & 0o1777)
                }
            }
            _ = lchown(path, uid, gid)
        }
        apply(root)
        HostPath.walk(root, apply)
    }
}
