import AirlockModels

/// What a run has spent so far.
public struct BudgetUsage: Sendable, Hashable {
    public var steps: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var costUSD: Double
    /// Bytes through the egress proxy, both directions.
    public var egressBytes: Int = 0
    public var started: ContinuousClock.Instant

    public init(steps: Int = 0, inputTokens: Int = 0, outputTokens: Int = 0, costUSD: Double = 0,
                started: ContinuousClock.Instant = .now) {
        self.steps = steps
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
        self.started = started
    }

    public var totalTokens: Int { inputTokens + outputTokens }

    /// Counts one model turn with its usage and cost (nil cost: price unknown, counts as 0).
    public mutating func charge(_ usage: Usage?, cost: Double?) {
        steps += 1
        // Saturating: each count is at most 10¹⁵ (Usage clamps), the totals stay far from overflow.
        inputTokens = Usage.sum([inputTokens, usage?.inputTokens ?? 0])
        outputTokens = Usage.sum([outputTokens, usage?.outputTokens ?? 0])
        costUSD += cost ?? 0
    }
}
