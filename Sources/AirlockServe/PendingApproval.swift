import AirlockCore
import AirlockModels

/// A call a run is waiting on, with what a human needs to decide: the tool, its
/// arguments, the rule that asked and why.
public struct PendingApproval: Sendable, Hashable {
    public var run: String
    public var task: String
    public var call: String
    public var tool: String
    public var arguments: JSONValue
    public var rule: String?
    public var reason: String
    public var askedAt: String
    /// Whether a harness is driving the run now; if not, an answer waits for `airlock resume`.
    public var harnessAlive: Bool
    /// An answer already stored but not yet taken by the run (its harness is down).
    public var answeredBy: String?
    /// Set for a budget that ran out (`on_budget_exhausted: ask`): its name; the answer is
    /// an amount to extend it by, or the end of the run.
    public var budget: String?

    public var json: JSONValue {
        ["run": .string(run), "task": .string(task), "call": .string(call), "tool": .string(tool),
         "arguments": arguments, "rule": rule.map { .string($0) } ?? .null, "reason": .string(reason),
         "asked_at": .string(askedAt), "harness_alive": .bool(harnessAlive),
         "answered_by": answeredBy.map { .string($0) } ?? .null, "budget": budget.map { .string($0) } ?? .null]
    }
}
