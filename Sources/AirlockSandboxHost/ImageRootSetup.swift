import AirlockSandbox
import CAirlockSys
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Gets an image tree ready for one sandbox: a private copy when the root is writable
/// (writes die with the sandbox and never reach the store), and, for a harness running as
/// root, a private bind mount through which the unprivileged sandbox uid reaches a tree
/// that lives under the root-only state dir.
package struct ImageRootSetup: Sendable {
    /// What bwrap binds at `/`.
    package var rootOnHost: String
    /// For the spawn shim: bind `bindSource` on `bindTarget` in a private mount namespace.
    package var bindSource: String?
    package var bindTarget: String?
    /// The per-sandbox copy (or overlay upper/work dirs) to delete when the sandbox ends.
    package var copy: String?
    /// An overlay over an idmapped view of the shared tree, mounted by the spawn shim.
    package var overlay: LaunchPlan.OverlayMount?
    /// Time spent making the copy (ms); 0 for a read-only root.
    package var setupMilliseconds: Double

    package static let bindTarget = "/run/airlock/image-root"
    static let lowerTarget = "/run/airlock/image-lower"

    package static func prepare(_ image: ImageRoot, identity: SandboxIdentity) throws(SandboxError) -> ImageRootSetup {
        var info = stat()
        guard stat(image.rootfs, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw SandboxError(.configuration, "the image tree \(image.rootfs) does not exist",
                               fix: "import the image again with `airlock image import`")
        }
        if image.user != nil && image.uid == nil {
            throw SandboxError(.configuration, "the image's User '\(image.user ?? "")' is not in its /etc/passwd",
                               fix: "fix the image's User, or its /etc/passwd")
        }
        var source = image.rootfs
        var copy: String?
        var took = 0.0
        if image.writable == .overlay, identity.changesIDs, let overlay = try? overlaySetup(image, identity: identity) {
            return overlay
        }
        if image.writable != .readOnly {
            let clock = ContinuousClock()
            let began = clock.now
            let scratch = image.scratchDirectory ?? HostPath.temporaryDirectory
            let target = "\(scratch)/\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            try run("/bin/cp", ["-a", "--reflink=auto", image.rootfs, target])
            copy = target
            if identity.changesIDs {
                do {
                    try run("/bin/chown", ["-R", "-h", "\(identity.uid):\(identity.gid)", target])
                } catch {
                    remove(target)
                    throw error
                }
            }
            source = target
            let elapsed = (clock.now - began).components
            took = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
        } else {
            let missing = ["proc", "dev", "tmp", "run", "var/tmp", "workspace", ".airlock"]
                .filter { access(image.rootfs + "/" + $0, F_OK) != 0 }
            if !missing.isEmpty {
                throw SandboxError(.configuration,
                                   "the read-only image tree lacks the mount points /\(missing.joined(separator: ", /"))",
                                   fix: "create them in the tree, or use a writable root (--image-root copy)")
            }
        }
        guard identity.changesIDs else {
            return ImageRootSetup(rootOnHost: source, copy: copy, setupMilliseconds: took)
        }
        if mkdir(bindTarget, 0o755) != 0 && errno != EEXIST {
            try? FileManager.default.createDirectory(atPath: bindTarget, withIntermediateDirectories: true)
        }
        chmod("/run/airlock", 0o755)
        return ImageRootSetup(rootOnHost: bindTarget, bindSource: source, bindTarget: bindTarget, copy: copy,
                              setupMilliseconds: took)
    }

    /// Only a root harness can idmap the store's root-owned tree to the sandbox uid; any
    /// failure here falls back to the copy.
    static func overlaySetup(_ image: ImageRoot, identity: SandboxIdentity) throws(SandboxError) -> ImageRootSetup {
        let scratch = image.scratchDirectory ?? HostPath.temporaryDirectory
        let directory = "\(scratch)/\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard !directory.contains(","), !directory.contains(":"),
              mkdir(directory, 0o711) == 0, mkdir(directory + "/upper", 0o755) == 0, mkdir(directory + "/work", 0o700) == 0,
              chown(directory + "/upper", identity.uid, identity.gid) == 0 else {
            remove(directory)
            throw SandboxError(.startFailed, "cannot prepare an overlay under \(scratch)")
        }
        let fd = airlock_idmap_userns(identity.uid, identity.gid)
        guard fd >= 0 else {
            remove(directory)
            throw SandboxError(.startFailed, "cannot make an idmap user namespace: \(String(cString: strerror(errno)))")
        }
        for path in [bindTarget, lowerTarget] where mkdir(path, 0o755) != 0 && errno != EEXIST {
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        chmod("/run/airlock", 0o755)
        let options = "lowerdir=\(lowerTarget),upperdir=\(directory)/upper,workdir=\(directory)/work"
        return ImageRootSetup(rootOnHost: bindTarget, bindTarget: bindTarget, copy: directory,
                              overlay: LaunchPlan.OverlayMount(idmapSource: image.rootfs, idmapTarget: lowerTarget,
                                                              usernsFD: fd, options: options),
                              setupMilliseconds: 0)
    }

    package func cleanup() {
        if let overlay { close(overlay.usernsFD) }
        if let copy { Self.remove(copy) }
    }

    package static func remove(_ path: String) {
        _ = ExecutableLookup.run("/bin/rm", ["-rf", "--one-file-system", path], timeout: nil)
    }

    private static func run(_ tool: String, _ arguments: [String]) throws(SandboxError) {
        guard let run = ExecutableLookup.run(tool, arguments, timeout: nil) else {
            throw SandboxError(.startFailed, "cannot run \(tool)")
        }
        guard run.succeeded else {
            throw SandboxError(.startFailed, "preparing the image root failed: \(tool) \(run.output.prefix(300))")
        }
    }
}
