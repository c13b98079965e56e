import Foundation
import Glibc

/// The built `airlock` executable beside the tests, started as a user would start it, with
/// its output in files (never a pipe that could fill up and stall it). Variables from the
/// developer's shell that would change what a test sees are cleared.
public final class AirlockProcess: @unchecked Sendable {
    /// `airlock` next to the test bundle (or one directory up), if it was built.
    public static let binaryPath: String? = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let directory = (exe as NSString).deletingLastPathComponent
        return [directory + "/airlock", (directory as NSString).deletingLastPathComponent + "/airlock"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    public static let clearedVariables = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AIRLOCK_MODEL", "AIRLOCK_STATE_DIR",
                                          "AIRLOCK_SERVE_TOKEN", "AIRLOCK_FAULT_KILL_AT", "AIRLOCK_DATABASE_URL"]

    public let process = Process()
    public let directory: String

    /// `executable` runs another `airlock` (an installed one); `cleanEnvironment` starts it
    /// with `environment` alone, as from a login shell without the toolchain's variables.
    public init(_ arguments: [String], environment: [String: String] = [:], executable: String? = nil,
                cleanEnvironment: Bool = false, workingDirectory: String? = nil) throws {
        guard let path = executable ?? Self.binaryPath else { throw POSIXError(.ENOENT) }
        directory = NSTemporaryDirectory() + "airlock-proc-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/err", contents: nil)
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = cleanEnvironment ? [:] : ProcessInfo.processInfo.environment
        for name in Self.clearedVariables { env[name] = nil }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.environment = env.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/err"))
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var stdout: String { read("out") }
    public var stderr: String { read("err") }
    public var status: Int32 { process.terminationStatus }
    public var reason: Process.TerminationReason { process.terminationReason }

    private func read(_ name: String) -> String {
        String(decoding: FileManager.default.contents(atPath: directory + "/" + name) ?? Data(), as: UTF8.self)
    }

    /// Waits for the exit without blocking a thread; kills it after `limit`. False when it
    /// had to be killed (a hang is a failure for the caller to record, not a timing claim).
    @discardableResult
    public func waitForExit(limit: Duration) async -> Bool {
        let end = ContinuousClock.now + limit
        while process.isRunning && ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let ended = !process.isRunning
        if !ended { kill(pid, SIGKILL) }
        process.waitUntilExit()
        return ended
    }

    /// Polls stdout until `condition` holds, the process ends, or `limit` passes.
    public func waitForOutput(limit: Duration = .seconds(15), _ condition: (String) -> Bool) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if condition(stdout) { return true }
            if !process.isRunning { return condition(stdout) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Kills it if it still runs, and removes its output files.
    public func cleanUp() {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
