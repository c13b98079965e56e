/// What a ledger entry records. A struct with static members rather than a closed enum so
/// that a new kind (a later feature, another tool) needs no change here; it is still
/// written `.modelRequest` at call sites and stored as its raw string.
public struct LedgerKind: RawRepresentable, Sendable, Hashable, Codable,
    ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    public static let runStarted: LedgerKind = "run_started"
    public static let runResumed: LedgerKind = "run_resumed"
    public static let workspaceSnapshot: LedgerKind = "workspace_snapshot"
    public static let modelRequest: LedgerKind = "model_request"
    public static let modelResponse: LedgerKind = "model_response"
    public static let modelRetry: LedgerKind = "model_retry"
    public static let toolCallProposed: LedgerKind = "tool_call_proposed"
    public static let toolCallValidated: LedgerKind = "tool_call_validated"
    public static let toolCallRejected: LedgerKind = "tool_call_rejected"
    public static let policyDecision: LedgerKind = "policy_decision"
    public static let approvalRequested: LedgerKind = "approval_requested"
    public static let approvalAnswered: LedgerKind = "approval_answered"
    public static let frameSent: LedgerKind = "frame_sent"
    public static let frameReceived: LedgerKind = "frame_received"
    public static let toolResult: LedgerKind = "tool_result"
    public static let sandboxStarted: LedgerKind = "sandbox_started"
    public static let sandboxKilled: LedgerKind = "sandbox_killed"
    public static let sandboxReplaced: LedgerKind = "sandbox_replaced"
    public static let budgetCharged: LedgerKind = "budget_charged"
    /// One request or tunnel through the egress proxy, allowed or refused.
    public static let egressRequest: LedgerKind = "egress_request"
    public static let runFinished: LedgerKind = "run_finished"
    /// Someone asked the run to stop (`airlock stop`, the web page, the API): who and why.
    public static let runStopped: LedgerKind = "run_stopped"
    /// A worker claimed the run (from the queue, or taking it over after a lease expired).
    public static let runClaimed: LedgerKind = "run_claimed"
    /// A draining worker handed the run back unfinished, for another to resume.
    public static let runHandedBack: LedgerKind = "run_handed_back"
    /// An approver extended a budget that ran out (`on_budget_exhausted: ask`): the new limit.
    public static let budgetExtended: LedgerKind = "budget_extended"
    public static let note: LedgerKind = "note"

    /// The kinds the loop writes, for documentation and `airlock show` filters.
    public static let known: [LedgerKind] = [
        .runStarted, .modelRequest, .modelResponse, .modelRetry, .toolCallProposed,
        .toolCallValidated, .toolCallRejected, .policyDecision, .approvalRequested,
        .approvalAnswered, .frameSent, .frameReceived, .toolResult, .sandboxStarted,
        .sandboxKilled, .sandboxReplaced, .budgetCharged, .egressRequest, .runFinished, .runStopped, .runClaimed,
        .runHandedBack, .budgetExtended, .note,
    ]
}
