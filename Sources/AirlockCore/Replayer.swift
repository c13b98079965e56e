import AirlockModels
import AirlockSandbox
import Foundation

/// Re-drives a recorded run without its model: every recorded tool call runs again, in a
/// fresh sandbox, on a copy of the run's starting workspace, and what the model would now
/// see is compared with what it saw. No network, no cost.
public struct Replayer: Sendable {
    public struct CallReport: Sendable, Hashable {
        public var call: String
        public var tool: String
        public var same: Bool
        public var skipped: String?
        public var recorded: String
        public var replayed: String
    }

    public struct Report: Sendable, Hashable {
        public var calls: [CallReport]
        public var differences: Int { calls.filter { !$0.same && $0.skipped == nil }.count }
    }

    public let backend: any SandboxBackend
    public let configuration: RunConfiguration
    /// The run's MCP servers, started again in each replay sandbox (nil: the run had none).
    public var toolProvider: (any ToolProvider)?

    public init(backend: any SandboxBackend, configuration: RunConfiguration, toolProvider: (any ToolProvider)? = nil) {
        self.backend = backend
        self.configuration = configuration
        self.toolProvider = toolProvider
    }

    /// Replays `entries` in `workspace` (a copy the caller made; it will be changed).
    public func replay(_ entries: [LedgerEntry], workspace: String,
                       progress: (@Sendable (CallReport) -> Void)? = nil) async throws -> Report {
        var sandboxConfiguration = configuration.sandbox
        sandboxConfiguration.workspace = workspace
        // A replay reaches nothing: a run's network is not brought back (a call that used it
        // shows as different).
        sandboxConfiguration.network = .none
        sandboxConfiguration.egress = nil
        var sandbox = try await backend.start(sandboxConfiguration)
        var provided = await toolProvider?.list(in: sandbox).tools ?? []
        let executor = ToolExecutor(limits: configuration.limits, outputLimit: configuration.modelOutputLimit)
        var validated: [String: (name: String, arguments: JSONValue)] = [:]
        var reports: [CallReport] = []
        for entry in entries {
            let payload = entry.payload
            guard let call = payload["call"]?.stringValue else { continue }
            if entry.kind == .toolCallValidated, let name = payload["name"]?.stringValue, let arguments = payload["arguments"] {
                validated[call] = (name, arguments)
                continue
            }
            guard entry.kind == .toolResult, let (name, arguments) = validated.removeValue(forKey: call) else { continue }
            let recorded = payload["content"]?.stringValue ?? ""
            var report = CallReport(call: call, tool: name, same: true, skipped: nil, recorded: recorded, replayed: "")
            let status = payload["status"]?.stringValue ?? ""
            if ["interrupted", "killed", "sandbox_died"].contains(status) {
                report.skipped = "its recorded outcome is \(status)"
            } else if case .success(let valid) = ToolCallValidator.validate(
                        ToolCall(id: call, name: name, arguments: CanonicalJSON.string(arguments)),
                        declared: configuration.declaredTools, provided: provided),
                      let run = runner(for: valid, provided: provided, executor: executor) {
                // The same harness-side limit as in a run: a guest the call stopped cannot hang the replay.
                let current = sandbox
                let raced = await Deadline.race(.now + run.limit) { () -> Result<ToolOutcome, SandboxError> in
                    do throws(SandboxError) { return .success(try await run.body(current)) }
                    catch { return .failure(error) }
                }
                var replaced = false
                switch raced {
                case .value(.success(let outcome)):
                    report.replayed = outcome.content
                case .value(.failure(let error)):
                    report.replayed = "error: the sandbox died during this call (\(error.message))"
                    replaced = true
                case .expired:
                    report.replayed = "error: the sandbox did not answer in time"
                    replaced = true
                }
                if replaced {
                    await sandbox.kill()
                    sandbox = try await backend.start(sandboxConfiguration)
                    // The servers lived in the dead sandbox: they start again in the new one.
                    provided = await toolProvider?.list(in: sandbox).tools ?? []
                }
                report.same = report.replayed == recorded
            } else {
                report.skipped = name.hasPrefix("mcp__")
                    ? "no MCP server offered \(name) in the replay sandbox" : "not a replayable call"
            }
            reports.append(report)
            progress?(report)
        }
        await toolProvider?.shutdown()
        await sandbox.kill()
        return Report(calls: reports)
    }

    private struct Run {
        var limit: Duration
        var body: @Sendable (any Sandbox) async throws(SandboxError) -> ToolOutcome
    }

    /// How a validated call runs again: built-ins and declared tools through the executor,
    /// MCP tools through the provider (nil when the call has no way to run).
    private func runner(for valid: ValidToolCall, provided: [ProvidedTool], executor: ToolExecutor) -> Run? {
        if case .provided(let call) = valid {
            guard let toolProvider, let tool = provided.first(where: { $0.spec.name == call.tool }) else { return nil }
            let timeout = configuration.limits.callTimeout ?? .seconds(120)
            return Run(limit: timeout + .seconds(5)) { sandbox in
                await toolProvider.call(tool, arguments: call.arguments, in: sandbox, timeout: timeout)
            }
        }
        guard let request = executor.request(for: valid) else { return nil }
        return Run(limit: executor.answerLimit(for: request)) { sandbox throws(SandboxError) in
            try await executor.execute(valid, request: request, in: sandbox)
        }
    }
}
