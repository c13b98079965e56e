import AirlockCore
import AirlockModels
import Foundation

/// A run as the page shows it: the stored record with its status made live (a `running`
/// run whose harness is gone is `interrupted`, as `airlock runs` says).
public struct RunView: Sendable {
    public var record: RunRecord
    public var harnessAlive: Bool
    public var pending: Int

    public var status: String {
        if record.status == .running && !harnessAlive { return RunStatus.interrupted.rawValue }
        return record.status.rawValue
    }

    /// The limits the run was started with (`run_started`'s budgets), for "used of limit".
    public var budgets: [String: JSONValue] { record.config["budgets"]?.objectMembers ?? [:] }

    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(record.id), "task": .string(record.task), "model": .string(record.model),
            "workspace": .string(record.workspace), "status": .string(status), "harness_alive": .bool(harnessAlive),
            "outcome": record.outcome.map { .string($0) } ?? .null,
            "exit_code": record.exitCode.map { .int($0) } ?? .null,
            "steps": .int(record.steps), "input_tokens": .int(record.inputTokens),
            "output_tokens": .int(record.outputTokens), "cost_usd": .double(record.costUSD),
            "created_at": .string(record.createdAt), "finished_at": record.finishedAt.map { .string($0) } ?? .null,
            "pending_approvals": .int(pending),
        ]
        members["budgets"] = .object(budgets)
        return .object(members)
    }
}
