import AirlockSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Finds the guest executable and, when the sandbox runs as another uid, stages a copy
/// where that uid can read it (the build tree may sit under a private home directory).
package enum GuestBinary {
    package static func locate(_ explicit: String?) throws(SandboxError) -> String {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let fromEnv = ProcessInfo.processInfo.environment["AIRLOCK_GUEST"] { candidates.append(fromEnv) }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let directory = HostPath.directory(of: exe)
            candidates.append(directory + "/airlock-guest")
            // Test bundles live one level down in some layouts.
            candidates.append(HostPath.directory(of: directory) + "/airlock-guest")
        }
        for candidate in candidates where access(candidate, X_OK) == 0 { return candidate }
        throw SandboxError(.unavailable, "the guest executable airlock-guest was not found (looked in: \(candidates.joined(separator: ", ")))",
                           fix: "build it with `swift build`, or set AIRLOCK_GUEST to its path")
    }

    /// A world-readable copy under /run/airlock, named by size and mtime so a rebuilt guest
    /// gets a new copy and concurrent harnesses share one.
    package static func staged(_ path: String) throws(SandboxError) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw SandboxError(.unavailable, "cannot stat \(path)") }
        let directory = "/run/airlock/bin"
        let target = "\(directory)/airlock-guest-\(info.st_size)-\(info.st_mtim.tv_sec)-\(info.st_mtim.tv_nsec)"
        if access(target, R_OK | X_OK) == 0 { return target }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
            chmod("/run/airlock", 0o755)
            // Unique per call: sandboxes started concurrently in one process must not
            // share (and delete, or rename half-copied) one temporary file.
            let temporary = target + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            do { try ExecutableCopy.copy(path, to: temporary) } catch {
                unlink(temporary)
                throw SandboxError(.unavailable, "cannot stage the guest under \(directory): \(error.message)")
            }
            guard rename(temporary, target) == 0 else {
                unlink(temporary)
                throw SandboxError(.unavailable, "cannot install the guest at \(target)")
            }
            removeStale(in: directory, keeping: target)
            return target
        } catch let error as SandboxError {
            throw error
        } catch {
            throw SandboxError(.unavailable, "cannot stage the guest under \(directory): \(error)")
        }
    }

    /// Older staged guests (from earlier builds) go once a new one is in place; one still
    /// used by a running sandbox stays mapped until that sandbox ends.
    private static func removeStale(in directory: String, keeping target: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let hourAgo = Date().addingTimeInterval(-3600)
        for name in names where name.hasPrefix("airlock-guest-") && directory + "/" + name != target {
            let path = directory + "/" + name
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
            if modified < hourAgo { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}
