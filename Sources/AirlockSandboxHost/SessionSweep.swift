import AirlockSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Kills a session by hand, for sandboxes with no pid namespace: the guest leads its own
/// session, and commands it runs get process groups inside it. Repeated until a pass finds
/// nobody, so children forked during the sweep go too. A process that called `setsid`
/// itself leaves the session; only a cgroup catches that one (and the Landlock tier uses
/// one wherever the host has them).
package enum SessionSweep {
    package static func kill(session: pid_t) {
        Glibc.kill(-session, SIGKILL)
        for _ in 0..<50 {
            let members = Self.members(of: session)
            if members.isEmpty { return }
            for pid in members { Glibc.kill(pid, SIGKILL) }
            usleep(1000)
        }
    }

    /// Processes whose session id (field 6 of /proc/PID/stat) is `session`.
    package static func members(of session: pid_t) -> [pid_t] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), pid != session,
                  let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "comm)": state ppid pgrp session …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 3, let sid = pid_t(fields[3]), sid == session else { return nil }
            // A zombie is already dead; it waits for its parent.
            return fields[0] == "Z" ? nil : pid
        }
    }
}
