import AirlockProtocol
import AirlockSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `airlock exec`: one sandbox, one command, its status as the exit code.
public struct ExecRunner: Sendable {
    public let configuration: SandboxConfiguration
    public let command: [String]
    public let timeoutMs: Int?
    public let json: Bool
    public let backend: any SandboxBackend
    /// The proxy's network; nil: none.
    public var network: (any ExecNetwork)?
    /// Called instead of reporting a sandbox that could not start (nothing of the command
    /// ran yet); it may hand the whole call to another program and not return.
    public var whenStartFails: (@Sendable (SandboxError) -> Void)?

    public static let couldNotStart: Int32 = 125
    public static let timedOut: Int32 = 124

    public init(configuration: SandboxConfiguration, command: [String], timeoutMs: Int?, json: Bool,
                backend: any SandboxBackend) {
        self.configuration = configuration
        self.command = command
        self.timeoutMs = timeoutMs
        self.json = json
        self.backend = backend
    }

    /// The runner for `invocation`, in the sandbox its flags describe unless `configuration`
    /// says more (an image root).
    public init(_ invocation: ExecInvocation, configuration: SandboxConfiguration? = nil, backend: any SandboxBackend) {
        self.init(configuration: configuration ?? invocation.configuration(), command: invocation.command,
                  timeoutMs: invocation.timeoutMs, json: invocation.json, backend: backend)
    }

    public func run() async -> Int32 {
        var configuration = configuration
        if let network {
            do {
                try await network.open(&configuration)
            } catch {
                StandardStreams.complain("airlock: the egress proxy could not start: \(error)")
                return Self.couldNotStart
            }
        }
        let code = await run(configuration)
        if let network {
            await network.close()
            reportTraffic()
        }
        return code
    }

    private func run(_ configuration: SandboxConfiguration) async -> Int32 {
        let sandbox: any Sandbox
        do {
            sandbox = try await backend.start(configuration)
            if let auto = backend as? AutoBackend {
                for reason in auto.fallbacks { StandardStreams.complain("airlock: skipped tier \(reason)") }
            }
        } catch {
            whenStartFails?(error)
            StandardStreams.complain("airlock: \(error)")
            return Self.couldNotStart
        }
        let request = ExecRequest(argv: command, timeoutMs: timeoutMs)
        let result: ExecResult
        do {
            result = try await withWatchdog(sandbox) { () async throws(SandboxError) -> ExecResult in
                try await sandbox.guest.exec(request) { stream, data in
                    StandardStreams.write(data, to: stream == .stdout ? 1 : 2)
                    // Requests that ended so far, interleaved with the command's own stderr.
                    reportTraffic()
                }
            }
        } catch {
            await sandbox.kill()
            StandardStreams.complain("airlock: \(error)")
            // A sandbox killed by its memory limit took the command with it.
            return error.kind == .guestDied ? 137 : Self.couldNotStart
        }
        await sandbox.kill()
        let code = status(result.status)
        if json { report(result, code: code, startMs: sandbox.startMilliseconds) }
        return code
    }

    public func status(_ status: ExitStatus) -> Int32 {
        if status.timedOut { return Self.timedOut }
        return status.shellStatus
    }

    /// The guest enforces the timeout; the harness does not trust it to. A guest that has
    /// not answered two seconds after the deadline and grace loses its sandbox.
    private func withWatchdog(_ sandbox: any Sandbox,
                              _ body: @Sendable @escaping () async throws(SandboxError) -> ExecResult) async throws(SandboxError) -> ExecResult {
        guard let timeoutMs else { return try await body() }
        let watchdog = Task { () -> Bool in
            do { try await Task.sleep(for: .milliseconds(timeoutMs + 2500)) } catch { return false }
            await sandbox.kill()
            return true
        }
        do {
            let result = try await body()
            watchdog.cancel()
            return result
        } catch {
            watchdog.cancel()
            guard await watchdog.value else { throw error }
            let usage = ResourceUsage(wallMs: Double(timeoutMs), userCpuMs: 0, systemCpuMs: 0, maxRssKB: 0)
            return ExecResult(status: ExitStatus(code: nil, signal: 9, timedOut: true, usage: usage),
                              stdout: Data(), stderr: Data())
        }
    }

    /// What the network has to say about the requests that ended so far.
    private func reportTraffic() {
        guard let network else { return }
        for line in network.takeLines(json: json) { StandardStreams.complain(line) }
    }

    private func report(_ result: ExecResult, code: Int32, startMs: Double) {
        struct Report: Encodable {
            var exit_code: Int32
            var status: ExitStatus
            var sandbox_start_ms: Double
            var backend: String
            var backend_version: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(Report(exit_code: code, status: result.status, sandbox_start_ms: startMs,
                                                    backend: backend.name, backend_version: backend.version)) {
            StandardStreams.write(data + [UInt8(ascii: "\n")], to: 2)
        }
    }
}
