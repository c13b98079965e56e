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
    public let store: any RunStore
    public let onEvent: RunEventHandler?
    /// Who answers the policy's `ask`: a human at the terminal, or nobody (denied).
    public let approver: any Approver
    /// Tools from servers (MCP), listed once the sandbox is up; nil: none configured.
    public var toolProvider: (any ToolProvider)?
    /// How this harness holds the run: locally, or by a worker's claim (whose epoch then
    /// fences every write the loop makes).
    public let holding: RunHolding

    public init(configuration: RunConfiguration, model: any LanguageModel, backend: any SandboxBackend,
                store: any RunStore, approver: any Approver = DenyApprover(), holding: RunHolding = .local,
                onEvent: RunEventHandler? = nil) {
        self.configuration = configuration
        self.model = model
        self.backend = backend
        self.store = holding.claim.map { store.fenced($0.fence) } ?? store
        self.approver = approver
        self.holding = holding
        self.onEvent = onEvent
    }

    /// Starts a run a worker claimed from the queue (its record exists, its ledger is empty).
    /// Throws `RunDetached` when the run was taken over or handed back meanwhile.
    public func start(claimed runID: String) async throws -> RunResult {
        try await drive(runID: runID, from: nil)
    }

    /// Continues a run a worker took over after its holder's lease expired, under the
    /// rules of `resume(runID:)`; the claim's epoch, not a local lock, keeps the old holder out.
    public func takeOver(runID: String) async throws -> RunResult {
        let recovery = RunRecovery(entries: try await store.ledgerEntries(run: runID), systemPrompt: configuration.systemPrompt)
        return try await drive(runID: runID, from: recovery)
    }

    /// Runs the task to its end. Throws only when the run cannot even be recorded.
    public func run() async throws -> RunResult {
        let record = try await store.createRun(task: configuration.task, model: configuration.model.description,
                                         workspace: configuration.sandbox.workspace,
                                         config: configuration.ledgerPayload)
        guard let lock = try RunLock.acquire(run: record.id, stateDirectory: store.stateDirectory) else {
            throw StoreError.runLocked(record.id)
        }
        defer { withExtendedLifetime(lock) {} }
        return try await drive(runID: record.id, from: nil)
    }

    /// Continues a run whose harness died, from its ledger: a model call in flight is made
    /// again (both attempts stay recorded); a tool call in flight is not re-run unless it
    /// is read-only — the model is told its outcome is unknown. Refuses a run that another
    /// live harness holds.
    public func resume(runID: String) async throws -> RunResult {
        guard let lock = try RunLock.acquire(run: runID, stateDirectory: store.stateDirectory) else {
            throw StoreError.runLocked(runID)
        }
        defer { withExtendedLifetime(lock) {} }
        let recovery = RunRecovery(entries: try await store.ledgerEntries(run: runID), systemPrompt: configuration.systemPrompt)
        return try await drive(runID: runID, from: recovery)
    }

    private func drive(runID: String, from recovery: RunRecovery?) async throws -> RunResult {
        // The proxy comes first: the sandbox is configured with its socket.
        var sandboxConfiguration = configuration.sandbox
        var gate: EgressGate?
        var gateFailure: String?
        if let egress = configuration.egress {
            do {
                let opened = try await EgressGate.open(egress, secretValues: configuration.secretValues,
                                                       maxBytes: configuration.limits.maxEgressBytes)
                sandboxConfiguration.network = .proxy
                sandboxConfiguration.egress = opened.attachment
                for secret in egress.secrets { sandboxConfiguration.environment[secret.name] = secret.placeholder }
                gate = opened
            } catch {
                gateFailure = "\(error)"
            }
        }
        let run = RunState(id: runID, configuration: configuration, store: store, onEvent: onEvent,
                           ledger: Ledger(store: store, run: runID), restoring: recovery, egress: gate)
        sandboxConfiguration.runID = runID
        let session = SandboxSession(backend: backend, configuration: sandboxConfiguration,
                                     freshPerCall: configuration.freshSandboxPerCall,
                                     maxReplacements: configuration.maxSandboxReplacements, ledger: run.ledger)
        // Requests are written as they end, not only between calls, so a harness killed in
        // the middle of a long call still leaves them in the ledger.
        let drain = gate.map { _ in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    try? await run.recordEgress(durable: true)
                }
            }
        }
        var result: RunResult
        var detached: RunDetached?
        if let gateFailure {
            result = run.result(.sandboxFailed, reason: "the egress proxy could not start: \(gateFailure)")
        } else {
            let work = Task { try await loop(run, session, recovery) }
            let watcher = Task { await watch(run, session, cancel: { work.cancel() }) }
            do {
                result = try await work.value
            } catch StoreError.fenced(_, let epoch) {
                // A write refused: another harness holds the run now. Stop at once.
                _ = run.interrupt(.lost(epoch: epoch))
                result = run.result(.failed, reason: "the run was taken over")
            } catch {
                result = run.result(.failed, reason: "the run could not continue: \(error)")
            }
            watcher.cancel()
            await watcher.value
            // The harness lets go: a run it leaves unfinished may be resumed elsewhere at once.
            if holding.claim == nil, store.sharedAcrossMachines { try? await store.holdRun(run.id, lease: .zero) }
            do {
                result = try await settle(result, run)
            } catch let error as RunDetached {
                detached = error
            } catch {
                result = run.result(.failed, reason: "the run could not record its stop: \(error)")
            }
        }
        await toolProvider?.shutdown()
        await session.shutdown(reason: detached.map(\.description) ?? "run ended")
        drain?.cancel()
        await drain?.value
        if let gate {
            await gate.close()
            do { try await run.recordEgress(durable: true) } catch {
                result = run.result(.failed, reason: "the run could not record its egress: \(error)")
            }
        }
        if let detached { throw detached }
        return await run.finish(result)
    }

    private func loop(_ run: RunState, _ session: SandboxSession, _ recovery: RunRecovery?) async throws -> RunResult {
        if let recovery {
            await run.stageRun { $0.status = .running }
            try await run.record(.runResumed, ["steps": .int(recovery.steps), "pending_calls": .int(recovery.pending?.calls.count ?? 0),
                                               "pid": .int(Int(getpid()))])
            run.emit("run_resumed", ["task": .string(configuration.task), "model": .string(configuration.model.description),
                                     "workspace": .string(configuration.sandbox.workspace), "steps": .int(recovery.steps)])
        } else {
            try await run.record(.runStarted, configuration.ledgerPayload)
            if configuration.snapshotWorkspace {
                let target = WorkspaceSnapshot.directory(for: run.id, stateDirectory: store.stateDirectory).path
                try WorkspaceSnapshot.copy(configuration.sandbox.workspace, to: target)
                try await run.record(.workspaceSnapshot, ["path": .string(target), "source": .string(configuration.sandbox.workspace)])
            }
            var started: [String: JSONValue] = ["task": .string(configuration.task), "model": .string(configuration.model.description),
                                                "workspace": .string(configuration.sandbox.workspace)]
            if let image = configuration.sandbox.root.ledgerPayload["digest"] { started["image"] = image }
            run.emit("run_started", started)
        }
        if let answer = recovery?.submittedAnswer {
            return run.result(.submitted, reason: "the model submitted its answer", answer: answer)
        }
        if !configuration.freshSandboxPerCall {
            do {
                let sandbox = try await session.acquire()
                var event: [String: JSONValue] = ["sandbox": .string(sandbox.id), "start_ms": .double((sandbox.startMilliseconds * 10).rounded() / 10)]
                if let image = configuration.sandbox.root.ledgerPayload["digest"] { event["image"] = image }
                run.emit("sandbox_started", event)
            } catch {
                return run.result(.sandboxFailed, reason: "the sandbox could not start: \(error)")
            }
        }
        var context = CallContext(run: run, session: session,
                                  executor: ToolExecutor(limits: configuration.limits, outputLimit: configuration.modelOutputLimit),
                                  formatErrors: recovery?.formatErrors ?? 0)
        context.askedAt = recovery?.approvalAskedAt ?? [:]
        if toolProvider != nil {
            if let stop = try await listProvidedTools(&context) { return stop }
        }
        var messages = recovery?.messages ?? [.system(configuration.systemPrompt), .user(configuration.task)]
        if let pending = recovery?.pending {
            if let stop = try await finishPending(pending, &messages, &context) { return stop }
        }

        if recovery != nil, configuration.policy.onBudgetExhausted == .ask {
            try await run.ledger.flush()
            run.apply(Self.restoredLimits(configuration.limits, entries: try await run.store.ledgerEntries(run: run.id)))
        }
        while true {
            // A turn's tool messages first, then the images its calls returned.
            messages += context.images
            context.images = []
            try await run.recordEgress()
            if let exceeded = BudgetCheck.check(run.usage, against: run.limits) {
                switch try await escalate(exceeded, run, askedAt: context.askedAt) {
                case .extended: continue
                case .stop(let result): return result
                }
            }
            let step = run.usage.steps + 1
            // Written, not fsync'd: a model call is not an action in the sandbox, and the next
            // decision's commit (before any action) makes this one durable too.
            try await run.write(.modelRequest, ["step": .int(step), "messages": .int(messages.count),
                                               "last": Transcript.summary(messages.last)])
            run.emit("model_request", ["step": .int(step)])
            FaultInjection.point("model_request")
            if let toolProvider, await toolProvider.toolsChanged() {
                if let stop = try await listProvidedTools(&context) { return stop }
            }
            let turn: AssistantTurn
            switch await callModel(messages, run, tools: context.provided.map(\.spec)) {
            case .turn(let value): turn = value
            case .stop(let stop): return stop
            case .timeRanOut(let exceeded):
                // The call was cancelled; with an extension it is made again (both recorded).
                try await run.record(.modelResponse, ["step": .int(step), "error": .string(exceeded.message)])
                switch try await escalate(exceeded, run, askedAt: context.askedAt) {
                case .extended: continue
                case .stop(let result): return result
                }
            }
            let cost = configuration.prices.cost(for: configuration.model, usage: turn.usage ?? Usage())
            run.charge(turn.usage, cost: cost)
            // Staged: committed with the entries that allow the turn's first action (a
            // frame, an approval's question, the run's end), in one transaction.
            await run.stage([(.modelResponse, Transcript.turn(turn, step: step).objectMembers),
                             (.budgetCharged, run.usagePayload.objectMembers)])
            await run.saveProgress()
            run.emit("model_response", Transcript.turn(turn, step: step).objectMembers)
            messages.append(.assistant(turn))
            FaultInjection.point("model_response")

            if turn.toolCalls.isEmpty {
                return run.result(.answered, reason: "the model replied without a tool call", answer: turn.text ?? "")
            }
            for call in turn.toolCalls {
                switch try await processCall(call, step: step, known: nil, &context) {
                case .message(let message): messages.append(message)
                case .stop(let result): return result
                }
            }
        }
    }

    /// The calls of the turn a dead harness left unfinished, in order.
    private func finishPending(_ pending: RunRecovery.PendingTurn, _ messages: inout [ChatMessage],
                               _ context: inout CallContext) async throws -> RunResult? {
        for (index, state) in pending.calls.enumerated() {
            let call = pending.turn.toolCalls[index]
            switch state {
            case .answered(let message):
                messages.append(message)
            case .notStarted:
                switch try await processCall(call, step: pending.step, known: nil, &context) {
                case .message(let message): messages.append(message)
                case .stop(let result): return result
                }
            case .proposed(let callID):
                switch try await processCall(call, step: pending.step, known: callID, &context) {
                case .message(let message): messages.append(message)
                case .stop(let result): return result
                }
            case .interrupted(let callID):
                if ["read_file", "list_files"].contains(call.name)
                    || configuration.declaredTools.contains(where: { $0.name == call.name && $0.readOnly }) {
                    // Read-only (a built-in, or a declared tool marked read_only): running it
                    // again changes nothing. MCP tools are never re-run: their annotations
                    // are only the server's claims.
                    switch try await processCall(call, step: pending.step, known: callID, &context) {
                    case .message(let message): messages.append(message)
                    case .stop(let result): return result
                    }
                } else {
                    let content = "error: the harness stopped while this call was running, so its outcome is unknown: it may or may not have taken effect. Check the state of the workspace before trying it again."
                    await context.run.stage(.update(callID: callID, status: .failed, result: content, exitCode: nil, finished: true))
                    try await context.run.record(.toolResult, ["call": .string(callID), "status": .string("interrupted"),
                                                               "content": .string(content), "is_error": .bool(true)])
                    context.run.emit("tool_result", ["call": .string(callID), "name": .string(call.name), "ok": .bool(false),
                                                     "interrupted": .bool(true)])
                    messages.append(.tool(callID: call.id, name: call.name, content: content, isError: true))
                }
            }
        }
        return nil
    }

    enum ToolStep {
        case `continue`(ToolOutcome)
        case stop(RunResult)
        /// The run's deadline ended the call (recorded) under `on_budget_exhausted: ask`:
        /// the approver decides whether the run goes on, and the model then sees the outcome.
        case timeRanOut(ToolOutcome, BudgetExceeded)
    }
    enum ModelStep {
        case turn(AssistantTurn)
        case stop(RunResult)
        /// The run's deadline cancelled the model call under `on_budget_exhausted: ask`.
        case timeRanOut(BudgetExceeded)
    }

    /// One tool call in the sandbox, raced against the run's deadline. A dead sandbox is
    /// replaced and the model told; a deadline kills the call and ends the run.
    /// `leading` are the entries that decided this call (proposal, validation); they are
    /// written in one transaction with the frame's entry, before the frame is sent.
    func runTool(_ call: ValidToolCall, callID: String, step: Int, executor: ToolExecutor,
                 run: RunState, session: SandboxSession,
                 leading: [(LedgerKind, [String: JSONValue])] = []) async throws -> ToolStep {
        guard let request = executor.request(for: call) else {
            if !leading.isEmpty { try await run.record(leading) }
            return .continue(ToolOutcome(content: "nothing to do", isError: false, status: .completed, exitCode: nil, record: [:]))
        }
        let sandbox: any Sandbox
        do {
            sandbox = try await session.acquire()
        } catch {
            if !leading.isEmpty { try await run.record(leading) }
            return .stop(run.result(.sandboxFailed, reason: "the sandbox could not start: \(error)"))
        }
        FaultInjection.point("tool_dispatch")
        try await run.record(leading + [(.frameSent, ["call": .string(callID), "sandbox": .string(sandbox.id),
                                                      "frame": .string(request.type), "arguments": call.arguments])])
        run.emit("tool_call", ["step": .int(step), "call": .string(callID), "name": .string(call.name),
                               "summary": .string(Transcript.argumentSummary(call))])
        let started = ContinuousClock.now
        run.egress?.setTag(callID)
        defer { run.egress?.setTag(nil) }
        // Bounded by the run's deadline or the harness's own limit for an answer, whichever
        // comes first: a guest the call stopped must not hang the run. (The watchdog ends
        // the wait, not a racing task: that would cost every step a task and a timer.)
        let answerLimit = executor.answerLimit(for: request)
        let callDeadline = started + answerLimit
        let runDeadlineFirst = run.deadline.map { $0 <= callDeadline } ?? false
        let raced: Deadline.Raced<Result<ToolOutcome, SandboxError>>
        if let deadline = run.deadline, deadline <= started {
            raced = .expired
        } else {
            do throws(SandboxError) {
                raced = .value(.success(try await executor.execute(call, request: request, in: sandbox,
                                                                    deadline: runDeadlineFirst ? run.deadline : callDeadline)))
            } catch where error.kind == .deadlinePassed {
                raced = .expired
            } catch {
                raced = .value(.failure(error))
            }
        }
        let elapsed = (ContinuousClock.now - started).milliseconds
        try await run.recordEgress()
        switch raced {
        case .expired where !runDeadlineFirst:
            let message = "the sandbox did not answer within \(answerLimit.milliseconds) ms (the call's timeout plus \(ToolExecutor.answerSlack.milliseconds) ms); the call timed out and the sandbox was killed"
            let allowed = try await session.died(reason: message)
            await run.stage(.update(callID: callID, status: .timedOut, result: message, exitCode: nil, finished: true))
            let content = "error: \(message). A fresh sandbox with the same /workspace replaces it. Processes and /tmp from before are gone."
            try await run.record(.toolResult, ["call": .string(callID), "status": .string("timed_out"), "error": .string(message),
                                               "content": .string(content), "is_error": .bool(true)])
            run.emit("sandbox_replaced", ["call": .string(callID), "reason": .string(message), "replaced": .bool(allowed)])
            guard allowed else {
                return .stop(run.result(.sandboxFailed, reason: "the sandbox was lost \(configuration.maxSandboxReplacements + 1) times; last: \(message)"))
            }
            return .continue(ToolOutcome(content: content, isError: true, status: .timedOut, exitCode: nil, record: [:]))
        case .expired:
            // The time budget is what ran out, even when another is used up as well.
            let exceeded = run.timeRanOut(during: "a tool call")
            let asking = configuration.policy.onBudgetExhausted == .ask
            if asking {
                await session.discard(reason: "run timeout during a tool call")
            } else {
                await session.shutdown(reason: "run timeout during a tool call")
            }
            await run.stage(.update(callID: callID, status: .timedOut, result: "killed: run timeout", exitCode: nil, finished: true))
            let content = "error: the run's time budget ran out during this call; it was killed with its sandbox. A fresh sandbox with the same /workspace replaces it; processes and /tmp from before are gone."
            try await run.record(.toolResult, ["call": .string(callID), "status": .string("killed"), "reason": .string("run timeout"),
                                               "content": .string(content), "is_error": .bool(true)])
            guard asking else {
                return .stop(run.result(.budgetExceeded, reason: exceeded.message + " (the call was killed)", budget: exceeded))
            }
            return .timeRanOut(ToolOutcome(content: content, isError: true, status: .timedOut, exitCode: nil, record: [:]), exceeded)
        case .value(.failure(let error)):
            let allowed = try await session.died(reason: error.message)
            await run.stage(.update(callID: callID, status: .failed, result: error.message, exitCode: nil, finished: true))
            let content = "error: the sandbox died during this call (\(error.message)); a fresh sandbox with the same /workspace replaces it. Processes and /tmp from before are gone."
            try await run.record(.toolResult, ["call": .string(callID), "status": .string("sandbox_died"), "error": .string(error.message),
                                               "content": .string(content), "is_error": .bool(true)])
            run.emit("sandbox_replaced", ["call": .string(callID), "reason": .string(error.message), "replaced": .bool(allowed)])
            guard allowed else {
                return .stop(run.result(.sandboxFailed, reason: "the sandbox died \(configuration.maxSandboxReplacements + 1) times; last: \(error.message)"))
            }
            return .continue(ToolOutcome(content: content, isError: true, status: .failed, exitCode: nil, record: [:]))
        case .value(.success(let outcome)):
            FaultInjection.point("tool_result")
            try await session.release()
            var record = outcome.record
            record["content"] = JSONValue.string(outcome.content)
            record["is_error"] = JSONValue.bool(outcome.isError)
            record["call"] = JSONValue.string(callID)
            record["status"] = JSONValue.string(outcome.status.rawValue)
            record["duration_ms"] = JSONValue.int(elapsed)
            // Staged: the result allows nothing by itself; it is committed with the next
            // model request (or the run's end), before that action.
            await run.stage([(.frameReceived, ["call": .string(callID), "frame": .string(outcome.exitCode == nil ? "result" : "exit")]),
                             (.toolResult, record)])
            await run.stage(.update(callID: callID, status: outcome.status, result: outcome.content,
                                    exitCode: outcome.exitCode, finished: true))
            var event: [String: JSONValue] = ["call": .string(callID), "name": .string(call.name), "ok": .bool(!outcome.isError),
                                              "duration_ms": .int(elapsed), "budget": run.remainingPayload]
            if let code = outcome.exitCode { event["exit_code"] = .int(code) }
            run.emit("tool_result", event)
            return .continue(outcome)
        }
    }

    /// The model call, raced against the deadline, with its retries recorded.
    func callModel(_ messages: [ChatMessage], _ run: RunState, tools: [ToolSpec] = []) async -> ModelStep {
        let retries = Mutex<[ModelEvent]>([])
        let request = ModelRequest(messages: messages, tools: BuiltinTools.specs + configuration.declaredTools.map(\.spec) + tools)
        let model = self.model
        let raced = await Deadline.race(run.deadline) { () -> Result<AssistantTurn, ModelError> in
            do {
                return .success(try await model.complete(request) { event in
                    switch event {
                    case .retrying: retries.withLock { $0.append(event) }
                    case .textDelta: FaultInjection.point("model_stream")
                    }
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
            let exceeded = run.timeRanOut(during: "a model call")
            if configuration.policy.onBudgetExhausted == .ask { return .timeRanOut(exceeded) }
            return .stop(run.result(.budgetExceeded, reason: exceeded.message, budget: exceeded))
        case .value(.failure(let error)):
            _ = try? await run.record(.modelResponse, ["error": .string(error.description), "attempts": .int(error.attempts)])
            return .stop(run.result(.modelFailed, reason: "the model provider failed: \(error)"))
        case .value(.success(let turn)):
            return .turn(turn)
        }
    }
}
