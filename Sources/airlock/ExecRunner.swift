import AirlockCore
import AirlockEgress
import AirlockProtocol
import AirlockSandbox
import Foundation

/// `airlock exec`: one sandbox, one command, its status as the exit code.
struct ExecRunner {
    let configuration: SandboxConfiguration
    let command: [String]
    let timeoutMs: Int?
    let json: Bool
    let backend: any SandboxBackend
    /// Network through the proxy; nil: none.
    var egress: EgressSettings?
    var secretValues: [String: String] = [:]
    var maxEgressBytes: Int?

    static let couldNotStart: Int32 = 125
    static let timedOut: Int32 = 124

    func run() async -> Int32 {
        var configuration = configuration
        var gate: EgressGate?
        if let egress {
            do {
                let opened = try await EgressGate.open(egress, secretValues: secretValues, maxBytes: maxEgressBytes)
                configuration.network = .proxy
                configuration.egress = opened.attachment
                for secret in egress.secrets { configuration.environment[secret.name] = secret.placeholder }
                gate = opened
            } catch {
                FileHandle.standardError.write(Data("airlock: the egress proxy could not start: \(error)\n".utf8))
                return Self.couldNotStart
            }
        }
        let code = await run(configuration, gate: gate)
        if let gate {
            await gate.close()
            report(gate.takeRecords())
        }
        return code
    }

    private func run(_ configuration: SandboxConfiguration, gate: EgressGate?) async -> Int32 {
        let sandbox: any Sandbox
        do {
            sandbox = try await backend.start(configuration)
            if let auto = backend as? AutoBackend {
                for reason in auto.fallbacks { FileHandle.standardError.write(Data("airlock: skipped tier \(reason)\n".utf8)) }
            }
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
                    // Requests that ended so far, interleaved with the command's own stderr.
                    if let gate { report(gate.takeRecords()) }
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

    /// One line per proxied request on stderr: JSON with --json, else a short summary.
    private func report(_ records: [EgressRecord]) {
        for record in records {
            let line: String
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.dateEncodingStrategy = .iso8601
                guard let data = try? encoder.encode(EgressLine(record)) else { continue }
                line = String(decoding: data, as: UTF8.self)
            } else {
                // A path is origin-form; a tunnel's inner CONNECT shows its own target.
                let inner = record.path.map { $0.hasPrefix("/") ? $0 : " → " + $0 } ?? ""
                let target = "\(record.host):\(record.port)\(inner)"
                let verdict = record.allowed ? "allowed" : "refused (\(record.reason ?? "not allowed"))"
                line = "airlock: egress \(record.method) \(target) \(verdict), \(record.bytesUp) B up, \(record.bytesDown) B down"
            }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
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
            FileHandle.standardError.write(data + Data("\n".utf8))
        }
    }
}

/// An egress record as `airlock exec --json` prints it.
private struct EgressLine: Encodable {
    var type = "egress"
    var record: EgressRecord
    init(_ record: EgressRecord) { self.record = record }
}
