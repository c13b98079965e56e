import AirlockModels
import AirlockProtocol
import AirlockSandbox
import Foundation

/// Runs one validated tool call in the sandbox and turns the answer into a `ToolOutcome`.
/// Nothing here runs model-chosen code in the harness: every call is a frame to the guest.
struct ToolExecutor: Sendable {
    let limits: BudgetLimits
    let outputLimit: Int
    /// A call with no timeout of its own still ends eventually.
    static let defaultCallTimeout: Duration = .seconds(600)
    /// A file call with no `--call-timeout` is answered well within this.
    static let defaultFileCallTimeout: Duration = .seconds(60)
    /// Beyond a call's own timeout (the guest's to enforce, kill grace included), the time
    /// the harness gives the guest to answer before it treats the sandbox as hung.
    static let answerSlack: Duration = .seconds(2)

    /// How long the harness waits for the guest's answer to `request`. The guest enforces
    /// a call's timeout, but the model's commands run as the guest's uid and can stop it
    /// (`kill -STOP $PPID`); the harness's own limit keeps that from evading the timeout.
    func answerLimit(for request: Request) -> Duration {
        if case .exec(let exec) = request, let ms = exec.timeoutMs {
            return .milliseconds(ms + (exec.killGraceMs ?? 500)) + Self.answerSlack
        }
        return (limits.callTimeout ?? Self.defaultFileCallTimeout) + Self.answerSlack
    }

    /// The frame a call becomes.
    func request(for call: ValidToolCall) -> Request? {
        switch call {
        case .shell(let command, let seconds):
            let timeout = limits.effectiveCallTimeout(requestedSeconds: seconds) ?? Self.defaultCallTimeout
            return .exec(ExecRequest(shell: command, timeoutMs: timeout.milliseconds))
        case .readFile(let path): return .readFile(PathRequest(path: path, maxBytes: 1 << 20))
        case .writeFile(let path, let content):
            return .writeFile(WriteFileRequest(path: path, content: Data(content.utf8)))
        case .editFile(let path, let old, let new): return .editFile(EditFileRequest(path: path, old: old, new: new))
        case .listFiles(let path): return .listFiles(PathRequest(path: path))
        case .submit, .provided: return nil
        case .declared(let call):
            let timeout = limits.effectiveCallTimeout(requestedSeconds: call.timeoutSeconds) ?? Self.defaultCallTimeout
            // `env NAME=value… program args` adds to the sandbox's environment rather than
            // replacing it (ExecRequest.env is the whole environment).
            let argv = call.env.isEmpty ? call.argv
                : ["/usr/bin/env"] + call.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + call.argv
            return .exec(ExecRequest(argv: argv, cwd: call.workdir, timeoutMs: timeout.milliseconds))
        }
    }

    /// Throws `SandboxError` only when the sandbox itself failed (dead guest, broken
    /// protocol); a failing command or a refused path is an outcome.
    /// Past `deadline` the call throws `.deadlinePassed` at once, whatever the guest does.
    func execute(_ call: ValidToolCall, request: Request, in sandbox: any Sandbox,
                 deadline: ContinuousClock.Instant? = nil) async throws(SandboxError) -> ToolOutcome {
        if case .exec(let exec) = request {
            let result = try await sandbox.guest.exec(exec, deadline: deadline) { _, _ in FaultInjection.point("tool_output") }
            return shellOutcome(result)
        }
        let response = try await sandbox.guest.call(request, deadline: deadline)
        return fileOutcome(call, response)
    }

    private func shellOutcome(_ result: ExecResult) -> ToolOutcome {
        let status = result.status
        let stdout = String(decoding: result.stdout, as: UTF8.self)
        let stderr = String(decoding: result.stderr, as: UTF8.self)
        var text = ""
        if status.timedOut {
            text += "The command timed out after \(Int(status.usage.wallMs)) ms and was killed.\n"
        }
        text += "exit code: \(status.shellStatus)"
        if let signal = status.signal { text += " (killed by signal \(signal))" }
        if !stdout.isEmpty { text += "\nstdout:\n" + OutputClip.clip(stdout, limit: outputLimit) }
        if !stderr.isEmpty { text += "\nstderr:\n" + OutputClip.clip(stderr, limit: outputLimit) }
        if status.stdoutTruncated || status.stderrTruncated { text += "\n[output was truncated at the capture limit]" }
        let record: [String: JSONValue] = [
            "exit_code": .int(Int(status.shellStatus)),
            "signal": status.signal.map { .int(Int($0)) } ?? .null,
            "timed_out": .bool(status.timedOut),
            "stdout": .string(OutputClip.clip(stdout, limit: outputLimit)),
            "stderr": .string(OutputClip.clip(stderr, limit: outputLimit)),
            "stdout_bytes": .int(result.stdout.count), "stderr_bytes": .int(result.stderr.count),
            "wall_ms": .double(status.usage.wallMs), "user_cpu_ms": .double(status.usage.userCpuMs),
            "system_cpu_ms": .double(status.usage.systemCpuMs), "max_rss_kb": .int(status.usage.maxRssKB),
        ]
        return ToolOutcome(content: text, isError: status.timedOut || status.shellStatus != 0,
                           status: status.timedOut ? .timedOut : (status.shellStatus == 0 ? .completed : .failed),
                           exitCode: Int(status.shellStatus), record: record)
    }

    private func fileOutcome(_ call: ValidToolCall, _ response: Response) -> ToolOutcome {
        switch response {
        case .error(let error):
            return ToolOutcome(content: "error (\(error.code)): \(error.message)", isError: true, status: .failed,
                               exitCode: nil, record: ["error": .string(error.code), "message": .string(error.message)])
        case .file(let file):
            var text = String(decoding: file.content, as: UTF8.self)
            if file.size > file.content.count { text += "\n[file is \(file.size) bytes; only the first \(file.content.count) shown]" }
            return ok(OutputClip.clip(text, limit: outputLimit * 4), ["bytes": .int(file.size)])
        case .entries(let listing):
            let lines = listing.entries.map { entry -> String in
                switch entry.kind {
                case .directory: return entry.name + "/"
                case .symlink: return entry.name + "@"
                default: return "\(entry.name)  (\(entry.size) bytes)"
                }
            }
            return ok(lines.isEmpty ? "(empty directory)" : lines.joined(separator: "\n"), ["entries": .int(lines.count)])
        case .stat(let stat):
            return ok("\(stat.name): \(stat.kind.rawValue), \(stat.size) bytes", [:])
        case .ok:
            switch call {
            case .writeFile(let path, let content): return ok("wrote \(content.utf8.count) bytes to \(path)", [:])
            case .editFile(let path, _, _): return ok("edited \(path)", [:])
            default: return ok("ok", [:])
            }
        default:
            return ToolOutcome(content: "unexpected answer from the sandbox", isError: true, status: .failed,
                               exitCode: nil, record: ["error": .string("unexpected_response")])
        }
    }

    private func ok(_ text: String, _ record: [String: JSONValue]) -> ToolOutcome {
        ToolOutcome(content: text, isError: false, status: .completed, exitCode: nil, record: record)
    }
}
