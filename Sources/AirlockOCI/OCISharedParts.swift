import AirlockSandbox
import AirlockSandboxHost
import Foundation
import Glibc

/// The parts of a bundle every sandbox of one shape has alike: the root's skeleton (empty
/// mount points and symlinks) and the generated passwd and group. Each is made once, under a
/// name derived from its content, published by rename and never changed after, so
/// concurrent starts (of any harness) share it and a start writes only its config.json.
/// Sharing is safe because the runtime mounts the root read-only in the sandbox's own
/// mount namespace, and the host root owns every entry (unmapped inside).
package enum OCISharedParts {
    /// The directory holding passwd and group (0444).
    package static func generated(under root: String) throws(SandboxError) -> String {
        let files = [("passwd", SandboxEnvironment.passwd), ("group", SandboxEnvironment.group)]
        let key = fingerprint(files.map { "\($0.0)\u{0}\($0.1)" })
        return try publish(root + "/shared/etc-" + key, mode: 0o711) { directory throws(SandboxError) in
            for (name, text) in files { try write(directory + "/" + name, Data(text.utf8), mode: 0o444) }
        }
    }

    /// A root directory with exactly `skeleton`'s entries.
    package static func rootfs(under root: String, skeleton: [OCIBundle.Skeleton]) throws(SandboxError) -> String {
        let key = fingerprint(skeleton.map { item in
            switch item {
            case .directory(let path): "d\u{0}" + path
            case .file(let path): "f\u{0}" + path
            case .symlink(let path, let target): "l\u{0}" + path + "\u{0}" + target
            }
        })
        return try publish(root + "/shared/rootfs-" + key, mode: 0o755) { directory throws(SandboxError) in
            try lay(skeleton, in: directory)
        }
    }

    /// Mount points and symlinks under `rootfs` (which exists).
    package static func lay(_ skeleton: [OCIBundle.Skeleton], in rootfs: String) throws(SandboxError) {
        for item in skeleton {
            switch item {
            case .directory(let path):
                try makeDirectories(rootfs + path)
            case .file(let path):
                try makeDirectories(rootfs + (path as NSString).deletingLastPathComponent)
                let fd = open(rootfs + path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o644)
                guard fd >= 0 else { throw failure("create", rootfs + path) }
                fchmod(fd, 0o644)
                close(fd)
            case .symlink(let path, let target):
                guard symlink(target, rootfs + path) == 0 || errno == EEXIST else { throw failure("link", rootfs + path) }
            }
        }
    }

    /// `target` when it exists; else built in a private directory and renamed into place
    /// (a concurrent builder's result wins, both are identical).
    static func publish(_ target: String, mode: mode_t, build: (String) throws(SandboxError) -> Void) throws(SandboxError) -> String {
        if access(target, F_OK) == 0 { return target }
        let parent = (target as NSString).deletingLastPathComponent
        try makeDirectories(parent, mode: 0o711)
        traversable(parent)
        let temporary = target + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        do throws(SandboxError) {
            guard mkdir(temporary, mode) == 0, chmod(temporary, mode) == 0 else { throw failure("create", temporary) }
            try build(temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        if rename(temporary, target) != 0 {
            let reason = errno
            try? FileManager.default.removeItem(atPath: temporary)
            guard reason == EEXIST || reason == ENOTEMPTY, access(target, F_OK) == 0 else { throw failure("publish", target) }
        }
        return target
    }

    /// mkdir -p, each new level with `mode` whatever the umask.
    static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SandboxError) {
        if mkdir(path, mode) == 0 { chmod(path, mode); return }
        if errno == EEXIST { return }
        guard errno == ENOENT, path.count > 1 else { throw failure("create", path) }
        try makeDirectories((path as NSString).deletingLastPathComponent, mode: mode)
        guard mkdir(path, mode) == 0 || errno == EEXIST else { throw failure("create", path) }
        chmod(path, mode)
    }

    /// The runtime's mapped users traverse every level down to the state root.
    static func traversable(_ directory: String) {
        var level = directory
        while level.count > 1 && level != "/run" && level != "/tmp" {
            chmod(level, 0o711)
            level = (level as NSString).deletingLastPathComponent
        }
    }

    /// A new file holding `data`, written with one call.
    package static func write(_ path: String, _ data: Data, mode: mode_t) throws(SandboxError) {
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw failure("create", path) }
        defer { close(fd) }
        fchmod(fd, mode)
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw failure("write", path) }
    }

    static func failure(_ verb: String, _ path: String) -> SandboxError {
        SandboxError(.configuration, "cannot \(verb) \(path) for the OCI bundle: \(String(cString: strerror(errno)))")
    }

    /// FNV-1a (64 bits) of the parts, in hex: a name, not a security boundary (the
    /// directories are root's and never written after publishing).
    static func fingerprint(_ parts: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in parts.joined(separator: "\n").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
