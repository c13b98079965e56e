import AirlockModels
import Foundation

/// A call the policy says to ask about, as a human sees it.
public struct ApprovalRequest: Sendable, Hashable {
    public var run: String
    public var call: String
    public var tool: String
    public var summary: String
    public var rule: String?
    public var reason: String
    /// When the question was first asked (before any restart of the harness).
    public var askedAt: Date = Date()
    /// The policy's `approval_timeout`; nil leaves it to the approver's default.
    public var timeout: Duration?
    /// Set when a budget ran out (`on_budget_exhausted: ask`): the answer is an amount to
    /// extend it by (in the budget's unit), or the end of the run.
    public var budget: BudgetExceeded?

    /// How long is left to answer, given the approver's own default.
    public func remaining(default fallback: Duration, now: Date = Date()) -> Duration {
        let total = timeout ?? fallback
        let spent = now.timeIntervalSince(askedAt)
        let left = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18 - spent
        return left > 0 ? .milliseconds(Int(left * 1000)) : .zero
    }

    /// The limit as the "no answer within …" reason shows it.
    public func limit(default fallback: Duration) -> Duration { timeout ?? fallback }
}

/// A human's answer, with who gave it.
public struct ApprovalAnswer: Sendable, Hashable {
    public enum Decision: String, Sendable, Hashable {
        /// Run this call.
        case approve
        /// Run this call and every later call the same rule asks about, for this run.
        case approveRule = "approve_rule"
        case deny
        /// End the run (exit 4).
        case terminate
        /// Extend the budget that ran out by `amount` (a budget question only).
        case extend
    }

    public var decision: Decision
    public var reason: String?
    /// A local user name, a web session's identity, or `airlock` for automatic answers.
    public var by: String
    /// With `extend`: how much to add, in the budget's unit (steps, tokens, USD, seconds, bytes).
    public var amount: Double?

    public init(_ decision: Decision, reason: String? = nil, by: String, amount: Double? = nil) {
        self.decision = decision
        self.reason = reason
        self.by = by
        self.amount = amount
    }
}

/// Answers approval requests. It lives in the harness: the sandbox has no terminal, no
/// network to the harness and no view of its state, so it cannot answer for itself.
public protocol Approver: Sendable {
    /// `airlock run --approver NAME`.
    var name: String { get }
    func decide(_ request: ApprovalRequest) async -> ApprovalAnswer
}

/// `--approver deny`: for CI and unattended runs, every ask is denied.
public struct DenyApprover: Approver {
    public let name = "deny"
    public init() {}

    public func decide(_ request: ApprovalRequest) async -> ApprovalAnswer {
        ApprovalAnswer(.deny, reason: "no human is attending this run (--approver deny)", by: "airlock")
    }
}
