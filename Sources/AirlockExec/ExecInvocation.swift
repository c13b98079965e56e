import AirlockSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One `airlock exec` as plain values: what `ExecCommand` parsed, or what `ExecFastPath`
/// read straight from argv. Both paths build the sandbox configuration here, so they
/// cannot drift apart in what a flag means.
public struct ExecInvocation: Sendable, Equatable {
    public var workspace: String?
    public var tier: SandboxTier = .auto
    public var memoryBytes: Int?
    public var pids: Int?
    public var cpus: Double?
    public var timeoutMs: Int?
    public var tmpSizeBytes: Int?
    /// NAME=VALUE entries, in order (a later one wins).
    public var environment: [String] = []
    public var json = false
    public var command: [String] = []

    /// The sandbox for the command, before its root and network are chosen (the default
    /// root is the host's read-only /usr; no network).
    public init(workspace: String? = nil, tier: SandboxTier = .auto, memoryBytes: Int? = nil, pids: Int? = nil,
                cpus: Double? = nil, timeoutMs: Int? = nil, tmpSizeBytes: Int? = nil, environment: [String] = [],
                json: Bool = false, command: [String] = []) {
        self.workspace = workspace
        self.tier = tier
        self.memoryBytes = memoryBytes
        self.pids = pids
        self.cpus = cpus
        self.timeoutMs = timeoutMs
        self.tmpSizeBytes = tmpSizeBytes
        self.environment = environment
        self.json = json
        self.command = command
    }

    public func configuration() -> SandboxConfiguration {
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
