import AirlockModels

/// A budget that ran out: an outcome of the run (exit code 3), not a fault.
public struct BudgetExceeded: Sendable, Hashable, CustomStringConvertible {
    public enum Budget: String, Sendable, Hashable, Codable {
        case steps, tokens, cost, time, egress
    }

    public var budget: Budget
    /// In the budget's unit: steps, tokens, USD, seconds, bytes.
    public var limit: Double
    public var used: Double
    public var message: String

    public init(budget: Budget, limit: Double, used: Double, message: String) {
        self.budget = budget
        self.limit = limit
        self.used = used
        self.message = message
    }

    public var description: String { message }

    /// For the ledger's `run_finished` entry and `--json` events.
    public var payload: JSONValue {
        .object(["budget": .string(budget.rawValue), "limit": .double(limit),
                 "used": .double(used), "message": .string(message)])
    }
}
