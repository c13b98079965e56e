import AirlockSandbox
import Foundation

/// One `airlock exec` as plain values: what `ExecCommand` parsed, or what `ExecFastPath`
/// read straight from argv. Both paths build the sandbox configuration here, so they
/// cannot drift apart in what a flag means.
struct ExecInvocation: Sendable, Equatable {
    var workspace: String?
    var tier: SandboxTier = .auto
    var memoryBytes: Int?
    var pids: Int?
    var cpus: Double?
    var timeoutMs: Int?
    var tmpSizeBytes: Int?
    /// NAME=VALUE entries, in order (a later one wins).
    var environment: [String] = []
    var json = false
    var command: [String] = []

    /// The sandbox for the command, before its root and network are chosen (the default
    /// root is the host's read-only /usr; no network).
    func configuration() -> SandboxConfiguration {
        var configuration = SandboxConfiguration(workspace: workspace ?? FileManager.default.currentDirectoryPath)
        configuration.limits = ResourceLimits(memoryBytes: memoryBytes, pids: pids, cpus: cpus)
        if let tmpSizeBytes { configuration.tmpSize = tmpSizeBytes }
        for entry in environment {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            configuration.environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return configuration
    }
}
