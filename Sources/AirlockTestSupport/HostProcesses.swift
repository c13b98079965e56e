import Foundation
import Glibc

/// The host's processes as /proc shows them, for tests that check what a sandbox left behind.
public enum HostProcesses {
    /// Host pids whose command line contains `marker` (never this test process itself).
    public static func matching(_ marker: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { pid in
            guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(marker)
        }
    }

    /// Whether `pid` exists and is not a zombie.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.contains("State:\tZ")
    }

    /// Kills processes carrying this test's unique marker (only those).
    public static func reap(_ marker: String) {
        for pid in matching(marker) { kill(pid, SIGKILL) }
    }
}
