import AirlockModels
import AirlockProtocol
import AirlockSandbox
import Foundation
import Synchronization

/// The loop: ask the model, validate each tool call, run it in the sandbox, feed the result
/// back, until the model submits, answers without a tool, or a budget stops it.
///
/// Every step is written to the ledger before the action it allows; the sandbox is the only
/// place a tool call runs.
public struct AgentLoop: Sendable {
    public let configuration: RunConfiguration
    public let model: any LanguageModel
    public let backend: any SandboxBackend
    public let store: Store
    public let onEvent: RunEventHandler?

    public init(configuration: RunConfiguration, model: any LanguageModel, backend: any SandboxBackend,
                store: Store, onEvent: RunEventHandler? = nil) {
        self.configuration = configuration
        self.model = model
        self.backend = backend
        self.store = store
        self.onEvent = onEvent
    }

    /// Runs the task to its end. Throws only when the run cannot even be recorded.
    public func run() async throws -> RunResult {
        let record = try store.createRun(task: configuration.task, model: configuration.model.description,
                                         workspace: configuration.sandbox.workspace,
                                         config: configuration.ledgerPayload)
        let run = RunState(id: record.id, configuration: configuration, store: store, onEvent: onEvent,
                           ledger: Ledger(store: store, run: record.id))
        let session = SandboxSession(backend: backend, configuration: configuration.sandbox,
                                     freshPerCall: configuration.freshSandboxPerCall,
                                     maxReplacements: configuration.maxSandboxReplacements, ledger: run.ledger)
        let result: RunResult
        do {
            result = try await drive(run, session)
        } catch {
            result = run.result(.failed, reason: "the run could not continue: \(error)")
        }
        await session.shutdown(reason: "run ended")
        return await run.finish(result)
    }

    private func drive(_ run: RunState, _ session: SandboxSession) async throws -> RunResult {
        try await run.record(.runStarted, configuration.ledgerPayload)
        run.emit("run_started", ["task": .string(configuration.task), "model": .string(configuration.model.description),
                                 "workspace": .string(configuration.sandbox.workspace)])
        if !configuration.freshSandboxPerCall {
            do {
                let sandbox = try await session.acquire()
                run.emit("sandbox_started", ["sandbox": .string(sandbox.id), "start_ms": .double(sandbox.startMilliseconds)])
            } catch {
                return run.result(.sandboxFailed, reason: "the sandbox could not start: \(error)")
            }
        }
        var messages: [ChatMessage] = [.system(configuration.systemPrompt), .user(configuration.task)]
        let executor = ToolExecutor(limits: configuration.limits, outputLimit: configuration.modelOutputLimit)
        var formatErrors = 0

        while true {
            if let exceeded = BudgetCheck.check(run.usage, against: configuration.limits) {
                return run.result(.budgetExceeded, reason: exceeded.message, budget: exceeded)
            }
            let step = run.usage.steps + 1
            try await run.record(.modelRequest, ["step": .int(step), "messages": .int(messages.count),
                                                "last": Transcript.summary(messages.last)])
            run.emit("model_request", ["step": .int(step)])
            let turn: AssistantTurn
            switch await callModel(messages, run) {
            case .turn(let value): turn = value
            case .stop(let stop): return stop
            }
            let cost = configuration.prices.cost(for: configuration.model, usage: turn.usage ?? Usage())
            run.charge(turn.usage, cost: cost)
            try await run.record(.modelResponse, Transcript.turn(turn, step: step))
            try await run.record(.budgetCharged, run.usagePayload)
            run.emit("model_response", Transcript.turn(turn, step: step).objectMembers)
            messages.append(.assistant(turn))

            if turn.toolCalls.isEmpty {
                return run.result(.answered, reason: "the model replied without a tool call", answer: turn.text ?? "")
            }
            for call in turn.toolCalls {
                let callID = run.uniqueCallID(call.id, step: step)
                try run.store.recordToolCall(run: run.id, step: step, call: ToolCall(id: callID, name: call.name, arguments: call.arguments))
                try await run.record(.toolCallProposed, ["call": .string(callID), "name": .string(call.name),
                                                         "arguments": .string(call.arguments)])
                let valid: ValidToolCall
                switch ToolCallValidator.validate(call) {
                case .failure(let problem):
                    formatErrors += 1
                    try await run.record(.toolCallRejected, ["call": .string(callID), "kind": .string(problem.kind.rawValue),
                                                             "message": .string(problem.message)])
                    _ = try run.store.updateToolCall(run: run.id, callID: callID, status: .rejected,
                                                     result: problem.message, finished: true)
                    run.emit("tool_rejected", ["call": .string(callID), "name": .string(call.name), "problem": .string(problem.message)])
                    messages.append(.tool(callID: call.id, name: call.name, content: "error: \(problem.message)", isError: true))
                    if formatErrors >= configuration.maxFormatErrors {
                        return run.result(.formatErrors, reason: "\(formatErrors) malformed tool calls in a row; last: \(problem.message)")
                    }
                    continue
                case .success(let value):
                    valid = value
                    formatErrors = 0
                    try await run.record(.toolCallValidated, ["call": .string(callID), "name": .string(valid.name),
                                                              "arguments": valid.arguments])
                }
                if case .submit(let answer) = valid {
                    _ = try run.store.updateToolCall(run: run.id, callID: callID, status: .completed, result: answer, finished: true)
                    return run.result(.submitted, reason: "the model submitted its answer", answer: answer)
                }
                switch try await runTool(valid, callID: callID, step: step, executor: executor, run: run, session: session) {
                case .continue(let outcome):
                    messages.append(.tool(callID: call.id, name: call.name, content: outcome.content, isError: outcome.isError))
                case .stop(let result):
                    return result
                }
            }
        }
    }

    private enum ToolStep { case `continue`(ToolOutcome), stop(RunResult) }
    private enum ModelStep { case turn(AssistantTurn), stop(RunResult) }

    /// One tool call in the sandbox, raced against the run's deadline. A dead sandbox is
    /// replaced and the model told; a deadline kills the call and ends the run.
    private func runTool(_ call: ValidToolCall, callID: String, step: Int, executor: ToolExecutor,
                         run: RunState, session: SandboxSession) async throws -> ToolStep {
        guard let request = executor.request(for: call) else {
            return .continue(ToolOutcome(content: "nothing to do", isError: false, status: .completed, exitCode: nil, record: [:]))
        }
        let sandbox: any Sandbox
        do {
            sandbox = try await session.acquire()
        } catch {
            return .stop(run.result(.sandboxFailed, reason: "the sandbox could not start: \(error)"))
        }
        try await run.record(.frameSent, ["call": .string(callID), "sandbox": .string(sandbox.id),
                                          "frame": .string(request.type), "arguments": call.arguments])
        _ = try run.store.updateToolCall(run: run.id, callID: callID, status: .running)
        run.emit("tool_call", ["step": .int(step), "call": .string(callID), "name": .string(call.name),
                               "summary": .string(Transcript.argumentSummary(call))])
        let started = ContinuousClock.now
        // Raced against the run's deadline and against the harness's own limit for an
        // answer, whichever comes first: a guest the call stopped must not hang the run.
        let answerLimit = executor.answerLimit(for: request)
        let callDeadline = started + answerLimit
        let runDeadlineFirst = run.deadline.map { $0 <= callDeadline } ?? false
        let raced = await Deadline.race(runDeadlineFirst ? run.deadline : callDeadline) { () -> Result<ToolOutcome, SandboxError> in
            do throws(SandboxError) { return .success(try await executor.execute(call, request: request, in: sandbox)) }
            catch { return .failure(error) }
        }
        let elapsed = (ContinuousClock.now - started).milliseconds
        switch raced {
        case .expired where !runDeadlineFirst:
            let message = "the sandbox did not answer within \(answerLimit.milliseconds) ms (the call's timeout plus \(ToolExecutor.answerSlack.milliseconds) ms); the call timed out and the sandbox was killed"
            let allowed = try await session.died(reason: message)
            _ = try run.store.updateToolCall(run: run.id, callID: callID, status: .timedOut, result: message, finished: true)
            try await run.record(.toolResult, ["call": .string(callID), "status": .string("timed_out"), "error": .string(message)])
            run.emit("sandbox_replaced", ["call": .string(callID), "reason": .string(message), "replaced": .bool(allowed)])
            guard allowed else {
                return .stop(run.result(.sandboxFailed, reason: "the sandbox was lost \(configuration.maxSandboxReplacements + 1) times; last: \(message)"))
            }
            return .continue(ToolOutcome(content: "error: \(message). A fresh sandbox with the same /workspace replaces it. Processes and /tmp from before are gone.",
                                         isError: true, status: .timedOut, exitCode: nil, record: [:]))
        case .expired:
            await session.shutdown(reason: "run timeout during a tool call")
            _ = try run.store.updateToolCall(run: run.id, callID: callID, status: .timedOut, result: "killed: run timeout", finished: true)
            try await run.record(.toolResult, ["call": .string(callID), "status": .string("killed"), "reason": .string("run timeout")])
            // The time budget is what ran out, even when another is used up as well.
            let exceeded = BudgetCheck.check(run.usage, against: BudgetLimits(timeout: configuration.limits.timeout))
                ?? BudgetExceeded(budget: .time, limit: Double(configuration.limits.timeout?.milliseconds ?? 0) / 1000,
                                  used: Double(configuration.limits.timeout?.milliseconds ?? 0) / 1000,
                                  message: "the run's time budget ran out during a tool call")
            return .stop(run.result(.budgetExceeded, reason: exceeded.message + " (the call was killed)", budget: exceeded))
        case .value(.failure(let error)):
            let allowed = try await session.died(reason: error.message)
            _ = try run.store.updateToolCall(run: run.id, callID: callID, status: .failed, result: error.message, finished: true)
            try await run.record(.toolResult, ["call": .string(callID), "status": .string("sandbox_died"), "error": .string(error.message)])
            run.emit("sandbox_replaced", ["call": .string(callID), "reason": .string(error.message), "replaced": .bool(allowed)])
            guard allowed else {
                return .stop(run.result(.sandboxFailed, reason: "the sandbox died \(configuration.maxSandboxReplacements + 1) times; last: \(error.message)"))
            }
            return .continue(ToolOutcome(content: "error: the sandbox died during this call (\(error.message)); a fresh sandbox with the same /workspace replaces it. Processes and /tmp from before are gone.",
                                         isError: true, status: .failed, exitCode: nil, record: [:]))
        case .value(.success(let outcome)):
            try await session.release()
            var record = outcome.record
            record["call"] = JSONValue.string(callID)
            record["status"] = JSONValue.string(outcome.status.rawValue)
            record["duration_ms"] = JSONValue.int(elapsed)
            try await run.record(.frameReceived, ["call": .string(callID), "frame": .string(outcome.exitCode == nil ? "result" : "exit")])
            try await run.record(.toolResult, .object(record))
            _ = try run.store.updateToolCall(run: run.id, callID: callID, status: outcome.status,
                                             result: outcome.content, exitCode: outcome.exitCode, finished: true)
            var event: [String: JSONValue] = ["call": .string(callID), "name": .string(call.name), "ok": .bool(!outcome.isError),
                                              "duration_ms": .int(elapsed), "budget": run.remainingPayload]
            if let code = outcome.exitCode { event["exit_code"] = .int(code) }
            run.emit("tool_result", event)
            return .continue(outcome)
        }
    }

    /// The model call, raced against the deadline, with its retries recorded.
    private func callModel(_ messages: [ChatMessage], _ run: RunState) async -> ModelStep {
        let retries = Mutex<[ModelEvent]>([])
        let request = ModelRequest(messages: messages, tools: BuiltinTools.specs)
        let model = self.model
        let raced = await Deadline.race(run.deadline) { () -> Result<AssistantTurn, ModelError> in
            do {
                return .success(try await model.complete(request) { event in
                    if case .retrying = event { retries.withLock { $0.append(event) } }
                })
            } catch let error as ModelError {
                return .failure(error)
            } catch {
                return .failure(ModelError(.transport, "\(error)"))
            }
        }
        for case .retrying(let attempt, let reason, let delay) in retries.withLock({ $0 }) {
            _ = try? await run.record(.modelRetry, ["attempt": .int(attempt), "reason": .string(reason), "delay_ms": .int(delay)])
        }
        switch raced {
        case .expired:
            let exceeded = BudgetCheck.check(run.usage, against: BudgetLimits(timeout: configuration.limits.timeout))
                ?? BudgetExceeded(budget: .time, limit: 0, used: 0, message: "the run's time budget ran out during a model call")
            return .stop(run.result(.budgetExceeded, reason: exceeded.message, budget: exceeded))
        case .value(.failure(let error)):
            _ = try? await run.record(.modelResponse, ["error": .string(error.description), "attempts": .int(error.attempts)])
            return .stop(run.result(.modelFailed, reason: "the model provider failed: \(error)"))
        case .value(.success(let turn)):
            return .turn(turn)
        }
    }
}
