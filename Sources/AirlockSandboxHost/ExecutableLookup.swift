import AirlockSandbox
import Foundation
import Glibc
import Synchronization

/// Finds host tools (bwrap, crun, runc, runsc) on PATH and asks them their version.
public enum ExecutableLookup {
    /// The first executable `name` on PATH, then in /usr/bin, /usr/sbin, /usr/local/bin.
    public static func find(_ name: String) -> String? {
        if name.hasPrefix("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map { "\($0)/\(name)" }
            + ["/usr/bin/\(name)", "/usr/sbin/\(name)", "/usr/local/bin/\(name)"])
            .first { access($0, X_OK) == 0 }
    }

    /// stdout and stderr of `path arguments`, or nil when it cannot run or outlives `timeout`
    /// seconds (it is killed then: a hanging runtime must not hang `doctor`).
    public static func output(_ path: String, _ arguments: [String], timeout: Double = 5) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self)
    }

    /// The first line of `--version`, trimmed.
    public static func version(_ path: String, flag: String = "--version") -> String? {
        output(path, [flag])?.split(whereSeparator: \.isNewline).first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    private static let versions = Mutex<[String: String]>([:])

    /// `version(path)`, asked once per process (the ledger names it for every sandbox).
    public static func cachedVersion(_ path: String) -> String? {
        if let known = versions.withLock({ $0[path] }) { return known }
        guard let found = version(path) else { return nil }
        versions.withLock { $0[path] = found }
        return found
    }
}
