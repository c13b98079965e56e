import AirlockModels
import Foundation

/// Everything one run writes between two actions, committed by `RunStore.commit` in one
/// durable transaction (one fsync): the ledger entries, the tool call rows and the run's
/// counters that lead up to an action are on disk together, before it, and a step with one
/// tool call costs two commits instead of seven.
public struct RunWrites: Sendable {
    /// A change to a row of `tool_calls`, as `recordToolCall` / `updateToolCall` make it.
    public enum ToolCallWrite: Sendable {
        /// Records the call afresh (arguments redacted by the store).
        case record(step: Int, call: ToolCall, status: ToolCallStatus)
        /// Moves it to `status`; a given result or exit code replaces the stored one.
        case update(callID: String, status: ToolCallStatus, result: String?, exitCode: Int?, finished: Bool)
    }

    /// Applied in order, before the ledger entries (another table: the order only matters
    /// among writes to one call).
    public var toolCalls: [ToolCallWrite] = []
    /// The run's counters, written straight to its row (with `updated_at`) before
    /// `runChanges`: the per-step update, which needs no read of the row. The last one staged wins.
    public var progress: RunProgress?
    /// Applied in order to the run's row; `updated_at` (and `finished_at`) as in `updateRun`.
    public var runChanges: [@Sendable (inout RunRecord) -> Void] = []
    /// Appended in order, chained to the run's last entry. Payloads already redacted.
    public var ledger: [(LedgerKind, JSONValue)] = []
    /// Whether the commit is fsync'd before it returns (the default: the writes allow an
    /// action). `false` for writes that allow none (the entries before a model call): the
    /// commit is written (a killed harness keeps it) but reaches the platter with the next
    /// synced commit, which comes before the next action. A store may always sync.
    public var synced = true

    public init(toolCalls: [ToolCallWrite] = [], runChanges: [@Sendable (inout RunRecord) -> Void] = [],
                ledger: [(LedgerKind, JSONValue)] = []) {
        self.toolCalls = toolCalls
        self.runChanges = runChanges
        self.ledger = ledger
    }

    public var isEmpty: Bool { toolCalls.isEmpty && progress == nil && runChanges.isEmpty && ledger.isEmpty }

    /// `other` after these.
    public mutating func append(_ other: RunWrites) {
        toolCalls += other.toolCalls
        progress = other.progress ?? progress
        runChanges += other.runChanges
        ledger += other.ledger
    }
}

/// A run's counters as the runs table shows them while it runs.
public struct RunProgress: Sendable, Equatable {
    public var steps: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var costUSD: Double

    public init(steps: Int, inputTokens: Int, outputTokens: Int, costUSD: Double) {
        self.steps = steps
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
    }
}
