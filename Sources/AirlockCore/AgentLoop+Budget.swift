import AirlockModels
import Foundation

/// `on_budget_exhausted: ask`: a budget that runs out pauses the run and the approver may
/// extend it by an amount or end the run. The question, the answer, who gave it and the new
/// limit are in the ledger before the run goes on; the sandbox has no channel to answer.
extension AgentLoop {
    enum Escalation {
        /// The new limits are in force (`RunState.apply`): the deadline and the proxy's cap moved.
        case extended
        case stop(RunResult)
    }

    /// The limits with every extension recorded in the ledger applied (a resumed run keeps them).
    static func restoredLimits(_ limits: BudgetLimits, entries: [LedgerEntry]) -> BudgetLimits {
        var limits = limits
        for entry in entries where entry.kind == .budgetExtended {
            guard let name = entry.payload["budget"]?.stringValue, let budget = BudgetExceeded.Budget(rawValue: name),
                  let limit = number(entry.payload["limit"]) else { continue }
            limits = limits.setting(budget, to: limit)
        }
        return limits
    }

    /// Time and egress run out while a call runs: the deadline ended the call (or the proxy
    /// cut its connections) first, and the question comes after; the amount then counts from
    /// the answer, so time spent waiting for it is not taken out of the extension.
    func escalate(_ exceeded: BudgetExceeded, _ run: RunState, askedAt: [String: Date]) async throws -> Escalation {
        let stop = Escalation.stop(run.result(.budgetExceeded, reason: exceeded.message, budget: exceeded))
        guard configuration.policy.onBudgetExhausted == .ask else { return stop }
        // One question per exhaustion, numbered from the ledger: a harness killed while
        // waiting asks the same question again and finds an answer given meanwhile.
        try await run.ledger.flush()
        let entries = try await run.store.ledgerEntries(run: run.id)
        let answered = Set(entries.filter { $0.kind == .approvalAnswered }
            .compactMap { $0.payload["call"]?.stringValue }.filter { $0.hasPrefix("budget-") })
        let callID = "budget-\(answered.count + 1)"
        await run.stageRun { $0.status = .paused }
        try await run.record(.approvalRequested, ["call": .string(callID), "approver": .string(approver.name),
                                                  "rule": "on_budget_exhausted", "reason": .string(exceeded.message),
                                                  "budget": .string(exceeded.budget.rawValue),
                                                  "limit": .double(exceeded.limit), "used": .double(exceeded.used)])
        run.emit("approval_requested", ["call": .string(callID), "name": "budget", "reason": .string(exceeded.message),
                                        "budget": .string(exceeded.budget.rawValue)])
        var request = ApprovalRequest(run: run.id, call: callID, tool: "budget",
                                      summary: "\(exceeded.budget.rawValue) budget: \(Self.amount(exceeded.used)) used of \(Self.amount(exceeded.limit))",
                                      rule: "on_budget_exhausted", reason: exceeded.message)
        request.askedAt = askedAt[callID] ?? Date()
        request.timeout = configuration.policy.approvalTimeout.map { .seconds($0) }
        request.budget = exceeded
        var answer = await approver.decide(request)
        // Only a positive amount extends; anything else is a refusal.
        if answer.decision == .extend || answer.decision == .approve, (answer.amount ?? 0) <= 0 {
            answer = ApprovalAnswer(.deny, reason: "no positive amount to extend the budget by", by: answer.by)
        }
        await run.stageRun { $0.status = .running }
        try await run.record(.approvalAnswered, ["call": .string(callID), "decision": .string(answer.decision.rawValue),
                                                 "by": .string(answer.by), "reason": answer.reason.map { .string($0) } ?? .null,
                                                 "amount": answer.amount.map { .double($0) } ?? .null])
        run.emit("approval_answered", ["call": .string(callID), "decision": .string(answer.decision.rawValue), "by": .string(answer.by)])
        let why = answer.reason.map { ": \($0)" } ?? ""
        switch answer.decision {
        case .extend, .approve, .approveRule:
            let amount = answer.amount ?? 0
            let limit = Self.base(of: exceeded, usage: run.usage) + amount
            try await run.record(.budgetExtended, ["call": .string(callID), "budget": .string(exceeded.budget.rawValue),
                                                   "previous": .double(exceeded.limit), "amount": .double(amount),
                                                   "limit": .double(limit), "by": .string(answer.by)])
            run.emit("budget_extended", ["budget": .string(exceeded.budget.rawValue), "limit": .double(limit), "by": .string(answer.by)])
            run.apply(run.limits.setting(exceeded.budget, to: limit))
            return .extended
        case .terminate:
            return .stop(run.result(.terminated, reason: "\(answer.by) ended the run when its \(exceeded.budget.rawValue) budget ran out\(why)"))
        case .deny:
            return .stop(run.result(.budgetExceeded, reason: "\(exceeded.message); \(answer.by) did not extend it\(why)", budget: exceeded))
        }
    }

    /// What an extension adds to: the old limit, or for time and egress what is used by now
    /// when that is more (the wait for the answer, bytes past the cap before the cut).
    static func base(of exceeded: BudgetExceeded, usage: BudgetUsage) -> Double {
        switch exceeded.budget {
        case .time: max(exceeded.limit, BudgetCheck.seconds(usage.started.duration(to: .now)))
        case .egress: max(exceeded.limit, Double(usage.egressBytes))
        case .steps, .tokens, .cost: exceeded.limit
        }
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .double(let number): number
        case .int(let number): Double(number)
        default: nil
        }
    }

    static func amount(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.4f", value)
    }
}

extension BudgetLimits {
    /// These limits with one budget set to `limit` (in the budget's unit).
    func setting(_ budget: BudgetExceeded.Budget, to limit: Double) -> BudgetLimits {
        var copy = self
        switch budget {
        case .steps: copy.maxSteps = Int(limit.rounded(.down))
        case .tokens: copy.maxTokens = Int(limit.rounded(.down))
        case .cost: copy.maxCostUSD = limit
        case .time: copy.timeout = .milliseconds(Int(limit * 1000))
        case .egress: copy.maxEgressBytes = Int(limit.rounded(.down))
        }
        return copy
    }
}
