import AirlockProtocol
import AirlockSandbox
import Foundation

/// `airlock exec`: one sandbox, one command, its status as the exit code.
struct ExecRunner {
    let configuration: SandboxConfiguration
    let command: [String]
    let timeoutMs: Int?
    let json: Bool

    static let couldNotStart: Int32 = 125
    static let timedOut: Int32 = 124

    func run() async -> Int32 {
        let backend = BubblewrapBackend()
        let sandbox: any Sandbox
        do {
            sandbox = try await backend.start(configuration)
        } catch {
            FileHandle.standardError.write(Data("airlock: \(error)\n".utf8))
            return Self.couldNotStart
        }
        let request = ExecRequest(argv: command, timeoutMs: timeoutMs)
        let result: ExecResult
        do {
            result = try await withWatchdog(sandbox) { () async throws(SandboxError) -> ExecResult in
                try await sandbox.guest.exec(request) { stream, data in
                    (stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError).write(data)
                }
            }
        } catch {
            await sandbox.kill()
            FileHandle.standardError.write(Data("airlock: \(error)\n".utf8))
            // A sandbox killed by its memory limit took the command with it.
            return error.kind == .guestDied ? 137 : Self.couldNotStart
        }
        await sandbox.kill()
        let code = status(result.status)
        if json { report(result, code: code, startMs: sandbox.startMilliseconds) }
        return code
    }

    func status(_ status: ExitStatus) -> Int32 {
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

    private func report(_ result: ExecResult, code: Int32, startMs: Double) {
        struct Report: Encodable {
            var exit_code: Int32
            var status: ExitStatus
            var sandbox_start_ms: Double
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(Report(exit_code: code, status: result.status, sandbox_start_ms: startMs)) {
            FileHandle.standardError.write(data + Data("\n".utf8))
        }
    }
}
