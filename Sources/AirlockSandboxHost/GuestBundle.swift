import AirlockSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// The guest with its own loader and libraries, for image sandboxes: bound at /.airlock
/// and started through the host's dynamic loader there, so it runs in any image — musl,
/// busybox, `FROM scratch` — without touching the image's libc. Staged once per guest
/// build in a directory the sandbox uid can read.
package struct GuestBundle: Sendable, Hashable {
    /// The staged directory on the host, bound read-only at /.airlock.
    package var directory: String
    /// argv prefix inside the sandbox that starts the guest.
    package var command: [String]

    package static let inside = "/.airlock"

    package static func stage(_ guest: String) throws(SandboxError) -> GuestBundle {
        var info = stat()
        guard stat(guest, &info) == 0 else { throw SandboxError(.unavailable, "cannot stat the guest \(guest)") }
        let base = geteuid() == 0 ? "/run/airlock/bin" : HostPath.temporaryDirectory + "airlock-\(geteuid())"
        let directory = "\(base)/guest-bundle-\(info.st_size)-\(info.st_mtim.tv_sec)-\(info.st_mtim.tv_nsec)"
        let found: GuestLibraries?
        do { found = try GuestLibraries.resolve(guest) } catch {
            throw SandboxError(.unavailable, error.message, fix: "install libc-bin (ldd), or use a static guest")
        }
        let libraries = (loader: found?.loader, all: found.map { [$0.loader] + $0.libraries } ?? [])
        let command: [String]
        if let loader = libraries.loader {
            command = ["\(inside)/lib/\(HostPath.lastComponent(loader))", "--library-path", "\(inside)/lib",
                       "\(inside)/airlock-guest"]
        } else {
            command = ["\(inside)/airlock-guest"]
        }
        if access(directory + "/ready", F_OK) == 0 { return GuestBundle(directory: directory, command: command) }
        let temporary = directory + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let manager = FileManager.default
            try manager.createDirectory(atPath: temporary + "/lib", withIntermediateDirectories: true,
                                        attributes: [.posixPermissions: 0o755])
            chmod(base, 0o755)
            if geteuid() == 0 { chmod("/run/airlock", 0o755) }
            // The guest and the loader are executed: copied out of process (see ExecutableCopy).
            try ExecutableCopy.copy(guest, to: temporary + "/airlock-guest")
            for library in libraries.all {
                let target = temporary + "/lib/" + HostPath.lastComponent(library)
                // The real file, not the symlink chain the host keeps (libstdc++.so.6 → …6.0.30).
                guard let resolved = realpath(library, nil) else {
                    throw SandboxError(.unavailable, "cannot resolve \(library) for the guest bundle")
                }
                let real = String(cString: resolved)
                free(resolved)
                try ExecutableCopy.copy(real, to: target)
            }
            chmod(temporary + "/lib", 0o755)
            chmod(temporary, 0o755)
            manager.createFile(atPath: temporary + "/ready", contents: Data())
            if rename(temporary, directory) != 0 {
                // Someone else staged the same build first.
                try? manager.removeItem(atPath: temporary)
            }
            removeStale(in: base, keeping: directory)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw SandboxError(.unavailable, "cannot stage the guest for image sandboxes under \(base): \((error as? SandboxErrorProxy)?.message ?? "\(error)")")
        }
        return GuestBundle(directory: directory, command: command)
    }

    /// Bundles of older builds go after an hour (a sandbox still using one keeps its mount).
    private static func removeStale(in base: String, keeping current: String) {
        let manager = FileManager.default
        let hourAgo = Date().addingTimeInterval(-3600)
        for name in (try? manager.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix("guest-bundle-") {
            let path = base + "/" + name
            guard path != current else { continue }
            let modified = (try? manager.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
            if modified < hourAgo { try? manager.removeItem(atPath: path) }
        }
    }
}
