import AirlockModels
import Foundation
import AirlockSandbox

/// What a tool call needs from its run, and the one counter that spans calls.
struct CallContext {
    let run: RunState
    let session: SandboxSession
    let executor: ToolExecutor
    var formatErrors: Int
    var rates = RateWindow()
    /// Rules a human approved for the rest of the run.
    var approvedRules: Set<String> = []
    /// When approvals still pending at a restart were first asked.
    var askedAt: [String: Date] = [:]
    /// The tools the provider offers now (MCP), refreshed when a server's list changes.
    var provided: [ProvidedTool] = []
    /// Images from this turn's tool results, sent after all of its tool messages.
    var images: [ChatMessage] = []
}

enum CallStep {
    /// The tool message the model sees next.
    case message(ChatMessage)
    case stop(RunResult)
}

extension AgentLoop {
    /// One proposed tool call: recorded, validated against its schema, then run in the
    /// sandbox. `known` is the id a dead harness already recorded the proposal under.
    func processCall(_ call: ToolCall, step: Int, known: String?, _ context: inout CallContext) async throws -> CallStep {
        let run = context.run
        var leading: [(LedgerKind, [String: JSONValue])] = []
        let callID: String
        if let known {
            callID = known
        } else {
            callID = run.uniqueCallID(call.id, step: step)
            leading.append((.toolCallProposed, ["call": .string(callID), "name": .string(call.name),
                                                "arguments": .string(call.arguments)]))
        }
        let record = ToolCall(id: callID, name: call.name, arguments: call.arguments)
        let valid: ValidToolCall
        switch ToolCallValidator.validate(call, declared: configuration.declaredTools, provided: context.provided) {
        case .failure(let problem):
            context.formatErrors += 1
            let content = "error: \(problem.message)"
            // Staged: nothing crosses for a rejected call; the next commit carries it.
            await run.stage(leading + [(.toolCallRejected, ["call": .string(callID), "kind": .string(problem.kind.rawValue),
                                                            "message": .string(problem.message), "content": .string(content)])])
            await run.stage(.record(step: step, call: record, status: .rejected))
            await run.stage(.update(callID: callID, status: .rejected, result: problem.message, exitCode: nil, finished: true))
            run.emit("tool_rejected", ["call": .string(callID), "name": .string(call.name), "problem": .string(problem.message)])
            if context.formatErrors >= configuration.maxFormatErrors {
                return .stop(run.result(.formatErrors,
                                        reason: "\(context.formatErrors) malformed tool calls in a row; last: \(problem.message)"))
            }
            return .message(.tool(callID: call.id, name: call.name, content: content, isError: true))
        case .success(let value):
            valid = value
            context.formatErrors = 0
            leading.append((.toolCallValidated, ["call": .string(callID), "name": .string(valid.name),
                                                 "arguments": valid.arguments]))
        }
        if case .submit(let answer) = valid {
            // Committed with the run's end.
            await run.stage(leading)
            await run.stage(.record(step: step, call: record, status: .completed))
            await run.stage(.update(callID: callID, status: .completed, result: answer, exitCode: nil, finished: true))
            return .stop(run.result(.submitted, reason: "the model submitted its answer", answer: answer))
        }
        // The policy decides before anything crosses; its decision is written with the
        // call's other entries, before the frame.
        var verdict = PolicyEngine(policy: configuration.policy).decide(valid)
        // A remote MCP server acts with the user's credentials: without a rule that says
        // otherwise, its tools need a human.
        if verdict.rule == nil, verdict.decision == .allow, case .provided(let provided) = valid,
           context.provided.first(where: { $0.spec.name == provided.tool })?.origin["remote"] == .bool(true) {
            verdict = PolicyEngine.Verdict(decision: .ask, rule: nil,
                                           reason: "\(provided.tool) is a remote MCP tool (it acts with your credentials); no policy rule decides it")
        }
        // Whoever answers an `ask` sees where an MCP tool goes and what its server claims.
        if verdict.decision == .ask { verdict.reason += providedNote(valid, context) }
        if verdict.decision == .allow, let limited = context.rates.admit(valid.name, limits: configuration.policy.rateLimits) {
            verdict = PolicyEngine.Verdict(decision: .deny, rule: "rate_limits", reason: limited)
        }
        leading.append((.policyDecision, ["call": .string(callID)].merging(verdict.payload) { $1 }))
        var denial = verdict.decision == .deny ? verdict.reason : nil
        if verdict.decision == .ask {
            if let rule = verdict.rule, context.approvedRules.contains(rule) {
                leading.append((.approvalAnswered, ["call": .string(callID), "decision": "approve_rule",
                                                    "by": "airlock", "reason": .string("\(rule) was approved for this run")]))
            } else {
                // The question is durable before it is asked: a harness killed while waiting
                // asks again when the run is resumed.
                await run.stageRun { $0.status = .paused }
                try await run.record(leading + [(.approvalRequested, ["call": .string(callID), "approver": .string(approver.name),
                                                                      "rule": verdict.rule.map { .string($0) } ?? .null,
                                                                      "reason": .string(verdict.reason)])])
                leading = []
                run.emit("approval_requested", ["call": .string(callID), "name": .string(call.name), "reason": .string(verdict.reason)])
                var request = ApprovalRequest(run: run.id, call: callID, tool: valid.name,
                                              summary: Transcript.argumentSummary(valid),
                                              rule: verdict.rule, reason: verdict.reason)
                request.askedAt = context.askedAt[callID] ?? Date()
                request.timeout = configuration.policy.approvalTimeout.map { .seconds($0) }
                let answer = await approver.decide(request)
                await run.stageRun { $0.status = .running }
                try await run.record(.approvalAnswered, ["call": .string(callID), "decision": .string(answer.decision.rawValue),
                                                         "by": .string(answer.by), "reason": answer.reason.map { .string($0) } ?? .null])
                run.emit("approval_answered", ["call": .string(callID), "decision": .string(answer.decision.rawValue), "by": .string(answer.by)])
                switch answer.decision {
                case .approve: break
                case .approveRule: if let rule = verdict.rule { context.approvedRules.insert(rule) }
                case .deny: denial = "\(verdict.reason); denied by \(answer.by)" + (answer.reason.map { ": \($0)" } ?? "")
                case .extend: denial = "\(verdict.reason); \(answer.by) answered with a budget extension, which does not approve a call"
                case .terminate:
                    await run.stage(.record(step: step, call: record, status: .denied))
                    return .stop(run.result(.terminated, reason: "\(answer.by) terminated the run at the approval of \(callID)"
                                            + (answer.reason.map { ": \($0)" } ?? "")))
                }
            }
        }
        if let reason = denial {
            let content = "error: denied by policy: \(reason)"
            // Staged: a denied call crosses nothing.
            await run.stage(leading + [(.toolResult, ["call": .string(callID), "status": .string("denied"),
                                                      "content": .string(content), "is_error": .bool(true)])])
            await run.stage(.record(step: step, call: record, status: .denied))
            await run.stage(.update(callID: callID, status: .denied, result: reason, exitCode: nil, finished: true))
            run.emit("tool_denied", ["call": .string(callID), "name": .string(call.name), "reason": .string(reason),
                                     "rule": verdict.rule.map { .string($0) } ?? .null])
            return .message(.tool(callID: call.id, name: call.name, content: content, isError: true))
        }
        // Committed with the frame's entry, before the frame.
        await run.stage(.record(step: step, call: record, status: .running))
        let toolStep: ToolStep
        if case .provided(let provided) = valid, let tool = context.provided.first(where: { $0.spec.name == provided.tool }) {
            toolStep = try await runProvided(provided, tool: tool, callID: callID, step: step, run: run,
                                             session: context.session, leading: leading)
        } else {
            toolStep = try await runTool(valid, callID: callID, step: step, executor: context.executor, run: run,
                                         session: context.session, leading: leading)
        }
        switch toolStep {
        case .continue(let outcome):
            if !outcome.images.isEmpty && model.acceptsImages {
                context.images.append(.toolImages(callID: call.id, images: outcome.images))
            }
            return .message(.tool(callID: call.id, name: call.name, content: outcome.content, isError: outcome.isError))
        case .stop(let result):
            return .stop(result)
        case .timeRanOut(let outcome, let exceeded):
            switch try await escalate(exceeded, context.run, askedAt: context.askedAt) {
            case .extended:
                return .message(.tool(callID: call.id, name: call.name, content: outcome.content, isError: true))
            case .stop(let result):
                return .stop(result)
            }
        }
    }
}
