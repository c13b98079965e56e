/// How a run ended, as data. Each outcome maps to one exit code (DESIGN.md §3).
public enum RunOutcome: String, Sendable, Hashable, Codable {
    /// The model called `submit`.
    case submitted
    /// The model replied without a tool call: that reply is the final answer.
    case answered
    case budgetExceeded = "budget_exceeded"
    /// Too many malformed tool calls in a row.
    case formatErrors = "format_errors"
    /// A human or a policy ended the run.
    case terminated
    case sandboxFailed = "sandbox_failed"
    case modelFailed = "model_failed"
    case failed

    public var exitCode: Int32 {
        switch self {
        case .submitted, .answered: 0
        case .budgetExceeded: 3
        case .terminated: 4
        case .sandboxFailed: 5
        case .modelFailed: 6
        case .formatErrors, .failed: 1
        }
    }
}

/// What `AgentLoop.run` returns.
public struct RunResult: Sendable, Hashable {
    public var runID: String
    public var outcome: RunOutcome
    public var answer: String?
    /// Why the run ended, in words.
    public var reason: String
    public var budget: BudgetExceeded?
    public var usage: BudgetUsage

    public var exitCode: Int32 { outcome.exitCode }
}
