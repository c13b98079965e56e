#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Synchronization

/// What sandboxes of a harness that died (SIGKILL, power loss) left on disk: OCI bundles
/// and runtime state, Landlock temp dirs. Names carry the harness's pid (`sbx-PID-…`,
/// `airlock-landlock-PID-…`); an entry whose pid is gone is the dead harness's to clean.
package enum StaleSweep {
    /// Entries of `directory` named `prefix + PID + "-…"` whose PID no longer runs.
    package static func orphans(in directory: String, prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            guard name.hasPrefix(prefix),
                  let pid = pid_t(name.dropFirst(prefix.count).prefix { $0.isNumber }) else { return false }
            return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
        }
    }

    private static let done = Mutex<Set<String>>([])

    /// Runs `sweep` the first time `key` is seen in this process: a dead harness's leftovers
    /// need one sweep, not one per sandbox start.
    package static func once(_ key: String, _ sweep: () -> Void) {
        let first = done.withLock { $0.insert(key).inserted }
        if first { sweep() }
    }
}
