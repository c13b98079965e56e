import AirlockModels
import AirlockSandbox
import Foundation

extension AgentLoop {
    /// Lists the provider's tools in the run's sandbox and records what was offered and
    /// what could not be (a server that failed is a message, never the end of the run).
    func listProvidedTools(_ context: inout CallContext) async throws -> RunResult? {
        guard let toolProvider else { return nil }
        let sandbox: any Sandbox
        do { sandbox = try await context.session.acquire() } catch {
            return context.run.result(.sandboxFailed, reason: "the sandbox could not start: \(error)")
        }
        let listing = await toolProvider.list(in: sandbox)
        context.provided = listing.tools
        try await context.run.record(LedgerKind("mcp_tools"), [
            "tools": .array(listing.tools.map { tool in
                .object(["name": .string(tool.spec.name)].merging(tool.origin) { $1 })
            }),
            "problems": .array(listing.problems.map(JSONValue.string)),
            "servers": .array(listing.servers),
        ])
        context.run.emit("mcp_tools", ["tools": .array(listing.tools.map { .string($0.spec.name) }),
                                       "problems": .array(listing.problems.map(JSONValue.string))])
        return nil
    }

    /// The approver sees where a provided tool comes from and what it claims about itself.
    func providedNote(_ call: ValidToolCall, _ context: CallContext) -> String {
        guard case .provided(let provided) = call,
              let tool = context.provided.first(where: { $0.spec.name == provided.tool }) else { return "" }
        var note = " (server \(tool.origin["server"]?.stringValue ?? "?"), tool \(tool.origin["tool"]?.stringValue ?? "?")"
        if let annotations = tool.origin["annotations"], annotations != .null {
            note += ", annotations claimed by the server: \(annotations.canonicalJSON)"
        }
        return note + ")"
    }

    /// A provided tool's call: recorded like a frame, raced against the run's deadline,
    /// answered by the provider (which turns every server failure into an error outcome).
    func runProvided(_ call: ProvidedCall, tool: ProvidedTool, callID: String, step: Int, run: RunState,
                     session: SandboxSession, leading: [(LedgerKind, [String: JSONValue])]) async throws -> ToolStep {
        guard let toolProvider else {
            try await run.record(leading)
            return .continue(ToolOutcome(content: "error: no tool provider", isError: true, status: .failed, exitCode: nil, record: [:]))
        }
        let sandbox: any Sandbox
        do { sandbox = try await session.acquire() } catch {
            if !leading.isEmpty { try await run.record(leading) }
            return .stop(run.result(.sandboxFailed, reason: "the sandbox could not start: \(error)"))
        }
        try await run.record(leading + [(.frameSent, ["call": .string(callID), "sandbox": .string(sandbox.id), "frame": "mcp_call",
                                                      "server": tool.origin["server"] ?? .null, "tool": tool.origin["tool"] ?? .null,
                                                      "arguments": call.arguments])])
        run.emit("tool_call", ["step": .int(step), "call": .string(callID), "name": .string(call.tool),
                               "summary": .string(String(call.arguments.canonicalJSON.prefix(80)))])
        let started = ContinuousClock.now
        let timeout = configuration.limits.callTimeout ?? .seconds(120)
        let raced = await Deadline.race(run.deadline) {
            await toolProvider.call(tool, arguments: call.arguments, in: sandbox, timeout: timeout)
        }
        let elapsed = (ContinuousClock.now - started).milliseconds
        guard case .value(let outcome) = raced else {
            await run.stage(.update(callID: callID, status: .timedOut, result: "killed: run timeout", exitCode: nil, finished: true))
            let content = "error: the run's time budget ran out during this call; it was cancelled."
            try await run.record(.toolResult, ["call": .string(callID), "status": .string("killed"), "reason": .string("run timeout"),
                                               "content": .string(content), "is_error": .bool(true)])
            let exceeded = run.timeRanOut(during: "a tool call")
            if configuration.policy.onBudgetExhausted == .ask {
                return .timeRanOut(ToolOutcome(content: content, isError: true, status: .timedOut, exitCode: nil, record: [:]), exceeded)
            }
            return .stop(run.result(.budgetExceeded, reason: exceeded.message + " (the call was cancelled)", budget: exceeded))
        }
        try await session.release()
        var record = outcome.record
        record["content"] = .string(outcome.content)
        record["is_error"] = .bool(outcome.isError)
        record["call"] = .string(callID)
        record["status"] = .string(outcome.status.rawValue)
        record["duration_ms"] = .int(elapsed)
        // Staged, as for a built-in tool: committed before the next action.
        await run.stage([(.frameReceived, ["call": .string(callID), "frame": "mcp_result"]), (.toolResult, record)])
        await run.stage(.update(callID: callID, status: outcome.status, result: outcome.content,
                                exitCode: outcome.exitCode, finished: true))
        run.emit("tool_result", ["call": .string(callID), "name": .string(call.tool), "ok": .bool(!outcome.isError),
                                 "duration_ms": .int(elapsed), "budget": run.remainingPayload])
        return .continue(outcome)
    }
}
