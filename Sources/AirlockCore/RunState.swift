import AirlockEgress
import AirlockModels
import Foundation
import Synchronization

/// The mutable bookkeeping of one run: budget use, call ids, and the two outputs every
/// step goes to (the ledger and the event stream).
final class RunState: Sendable {
    let id: String
    let configuration: RunConfiguration
    let store: any RunStore
    let ledger: Ledger
    let onEvent: RunEventHandler?
    /// The run's egress proxy, when it has network.
    let egress: EgressGate?
    /// The budgets in force (an approver may extend them while the run goes, under
    /// `on_budget_exhausted: ask`) and the deadline the time budget makes of them.
    private let live: Mutex<(limits: BudgetLimits, deadline: ContinuousClock.Instant?)>
    /// Bytes a resumed run had already sent through earlier proxies: its proxy gets the rest.
    private let egressBaseline: Int
    private let state: Mutex<(usage: BudgetUsage, callIDs: Set<String>)>
    private let interruption = Mutex<RunInterrupt?>(nil)

    /// `restoring` carries a resumed run's budget use and call ids; time already spent
    /// counts against the time budget.
    init(id: String, configuration: RunConfiguration, store: any RunStore, onEvent: RunEventHandler?, ledger: Ledger,
         restoring recovery: RunRecovery? = nil, egress: EgressGate? = nil) {
        self.id = id
        self.egress = egress
        self.configuration = configuration
        self.store = store
        self.ledger = ledger
        self.onEvent = onEvent
        var usage = BudgetUsage()
        if let recovery {
            usage = BudgetUsage(steps: recovery.steps, inputTokens: recovery.inputTokens, outputTokens: recovery.outputTokens,
                                costUSD: recovery.costUSD, started: .now - .milliseconds(recovery.elapsedMilliseconds))
            usage.egressBytes = recovery.egressBytes
        }
        live = Mutex((configuration.limits, nil))  // `apply` below sets the deadline and the proxy's cap
        egressBaseline = usage.egressBytes
        state = Mutex((usage, recovery?.callIDs ?? []))
        apply(configuration.limits)
    }

    var limits: BudgetLimits { live.withLock { $0.limits } }

    /// When the run's time budget ends, if it has one.
    var deadline: ContinuousClock.Instant? { live.withLock { $0.deadline } }

    /// Puts `limits` in force at once: the deadline every call is raced against moves, and
    /// the proxy's byte cap with it, so an extension reaches work already in progress.
    func apply(_ limits: BudgetLimits) {
        let started = usage.started
        live.withLock { $0 = (limits, limits.timeout.map { started + $0 }) }
        egress?.setByteLimit(limits.maxEgressBytes.map { max(0, $0 - egressBaseline) })
    }

    /// The time budget, reported as run out during `what` (a model call, a tool call).
    func timeRanOut(during what: String) -> BudgetExceeded {
        let timeout = limits.timeout ?? .zero
        return BudgetCheck.check(usage, against: BudgetLimits(timeout: timeout))
            ?? BudgetExceeded(budget: .time, limit: BudgetCheck.seconds(timeout), used: BudgetCheck.seconds(timeout),
                              message: "the run's time budget ran out during \(what)")
    }

    var usage: BudgetUsage { state.withLock { $0.usage } }

    /// Why the run is being ended from outside its loop, if it is.
    var interrupted: RunInterrupt? { interruption.withLock { $0 } }

    /// Marks the run interrupted; false if it already was (the first reason stands).
    func interrupt(_ reason: RunInterrupt) -> Bool {
        interruption.withLock { current in
            guard current == nil else { return false }
            current = reason
            return true
        }
    }

    func charge(_ usage: Usage?, cost: Double?) {
        state.withLock { $0.usage.charge(usage, cost: cost) }
    }

    func chargeEgress(bytes: Int) {
        state.withLock { $0.usage.egressBytes = Usage.sum([$0.usage.egressBytes, bytes]) }
    }

    /// Call ids must be unique per run; some servers reuse `call_1` every turn.
    func uniqueCallID(_ proposed: String, step: Int) -> String {
        state.withLock { state in
            var id = proposed.isEmpty ? "call-\(step)" : proposed
            if state.callIDs.contains(id) { id = "\(id)@\(step)" }
            var suffix = 2
            while state.callIDs.contains(id) { id = "\(proposed)@\(step).\(suffix)"; suffix += 1 }
            state.callIDs.insert(id)
            return id
        }
    }

    @discardableResult
    func record(_ kind: LedgerKind, _ payload: JSONValue) async throws -> LedgerEntry {
        try await ledger.append(kind, payload)
    }

    func record(_ kind: LedgerKind, _ payload: [String: JSONValue]) async throws {
        try await ledger.append(kind, .object(payload))
    }

    /// An entry before the harness's own work (a model call), not before an action: written
    /// with everything staged, and fsync'd by the next `record`, which precedes any action.
    func write(_ kind: LedgerKind, _ payload: [String: JSONValue]) async throws {
        try await ledger.write(kind, .object(payload))
    }

    /// Several entries in one durable transaction (with everything staged before them).
    func record(_ batch: [(LedgerKind, [String: JSONValue])]) async throws {
        try await ledger.append(batch: batch.map { ($0.0, JSONValue.object($0.1)) })
    }

    /// Entries that allow no action by themselves: committed with the next `record`, before
    /// the next action.
    func stage(_ batch: [(LedgerKind, [String: JSONValue])]) async {
        await ledger.stage(batch.map { ($0.0, JSONValue.object($0.1)) })
    }

    /// A tool call row's write, committed with the next `record`.
    func stage(_ write: RunWrites.ToolCallWrite) async {
        await ledger.stage(RunWrites(toolCalls: [write]))
    }

    /// A change of the run's row, committed with the next `record`.
    func stageRun(_ change: @escaping @Sendable (inout RunRecord) -> Void) async {
        await ledger.stage(RunWrites(runChanges: [change]))
    }

    func emit(_ type: String, _ fields: [String: JSONValue] = [:]) {
        onEvent?(RunEvent(type, run: id, fields))
    }

    func result(_ outcome: RunOutcome, reason: String, answer: String? = nil, budget: BudgetExceeded? = nil) -> RunResult {
        RunResult(runID: id, outcome: outcome, answer: answer, reason: reason, budget: budget, usage: usage)
    }

    var usagePayload: JSONValue {
        let usage = self.usage
        return .object(["steps": .int(usage.steps), "input_tokens": .int(usage.inputTokens),
                        "output_tokens": .int(usage.outputTokens), "cost_usd": .double(usage.costUSD),
                        "egress_bytes": .int(usage.egressBytes)])
    }

    /// What is left of each budget, for progress output.
    var remainingPayload: JSONValue {
        let usage = self.usage
        let limits = self.limits
        var left: [String: JSONValue] = [:]
        if let steps = limits.maxSteps { left["steps"] = .int(steps - usage.steps) }
        if let tokens = limits.maxTokens { left["tokens"] = .int(tokens - usage.totalTokens) }
        if let cost = limits.maxCostUSD { left["cost_usd"] = .double(cost - usage.costUSD) }
        if let egress = limits.maxEgressBytes { left["egress_bytes"] = .int(egress - usage.egressBytes) }
        if let deadline { left["time_ms"] = .int(max(0, (deadline - .now).milliseconds)) }
        return .object(left)
    }

    /// Writes what went through the egress proxy since the last time (one entry a request)
    /// and charges its bytes to the budget. `durable: false` stages them for the next commit.
    func recordEgress(durable: Bool = false) async throws {
        guard let records = egress?.takeRecords(), !records.isEmpty else { return }
        chargeEgress(bytes: records.reduce(0) { Usage.sum([$0, $1.bytesUp, $1.bytesDown]) })
        let entries = records.map { (LedgerKind.egressRequest, $0.ledgerPayload) }
        if durable { try await record(entries) } else { await stage(entries) }
        for record in records {
            var event = record.ledgerPayload
            event.removeValue(forKey: "started")
            emit("egress", event)
        }
    }

    /// Keeps the runs table's counters current, so `airlock runs` shows a live run's progress
    /// (staged: written with the step's next commit).
    func saveProgress() async {
        let usage = self.usage
        var writes = RunWrites()
        writes.progress = RunProgress(steps: usage.steps, inputTokens: usage.inputTokens,
                                      outputTokens: usage.outputTokens, costUSD: usage.costUSD)
        await ledger.stage(writes)
    }

    /// Records the end everywhere: ledger, runs table, event stream.
    func finish(_ result: RunResult) async -> RunResult {
        var payload: [String: JSONValue] = [
            "outcome": .string(result.outcome.rawValue), "exit_code": .int(Int(result.exitCode)),
            "reason": .string(result.reason), "usage": usagePayload,
        ]
        if let answer = result.answer { payload["answer"] = .string(answer) }
        if let budget = result.budget { payload["budget"] = budget.payload }
        let usage = result.usage
        // A run is finished only once its ledger says so: the row and the last entry are
        // written in one transaction. If it fails (a full disk), the run stays resumable
        // instead of claiming an end it lacks.
        await stageRun { record in
            record.status = .finished
            record.outcome = result.outcome.rawValue
            record.exitCode = Int(result.exitCode)
            record.steps = usage.steps
            record.inputTokens = usage.inputTokens
            record.outputTokens = usage.outputTokens
            record.costUSD = usage.costUSD
        }
        let head = try? await record(.runFinished, .object(payload))
        if head == nil {
            await ledger.discardStaged()
            _ = try? await store.updateRun(id) { record in
                record.status = .interrupted
                record.steps = usage.steps
                record.inputTokens = usage.inputTokens
                record.outputTokens = usage.outputTokens
                record.costUSD = usage.costUSD
            }
        }
        if let key = configuration.signingKey, let head, let signature = try? ChainSignature.payload(signing: head, withRawKey: key) {
            _ = try? await record(ChainSignature.kind, signature)
        }
        emit("run_finished", payload)
        return result
    }
}
