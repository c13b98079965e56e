import Foundation

/// Decides whether a run may take another step. Call it before each model turn.
/// Steps and time are exhausted on reaching the limit (another step would pass it);
/// tokens and cost once usage has gone past it, since a turn's spend is only known after.
public enum BudgetCheck {
    public static func check(_ usage: BudgetUsage, against limits: BudgetLimits,
                             now: ContinuousClock.Instant = .now) -> BudgetExceeded? {
        if let limit = limits.maxSteps, usage.steps >= limit {
            return BudgetExceeded(budget: .steps, limit: Double(limit), used: Double(usage.steps),
                                  message: "step budget reached: \(usage.steps) of \(limit) steps used")
        }
        if let limit = limits.maxTokens, usage.totalTokens > limit {
            return BudgetExceeded(budget: .tokens, limit: Double(limit), used: Double(usage.totalTokens),
                                  message: "token budget exceeded: \(usage.totalTokens) tokens used, limit \(limit)")
        }
        if let limit = limits.maxCostUSD, usage.costUSD > limit {
            return BudgetExceeded(budget: .cost, limit: limit, used: usage.costUSD,
                                  message: "cost budget exceeded: $\(dollars(usage.costUSD)) spent, limit $\(dollars(limit))")
        }
        if let limit = limits.maxEgressBytes, usage.egressBytes >= limit {
            return BudgetExceeded(budget: .egress, limit: Double(limit), used: Double(usage.egressBytes),
                                  message: "egress budget reached: \(usage.egressBytes) bytes through the proxy, limit \(limit)")
        }
        if let limit = limits.timeout {
            let elapsed = usage.started.duration(to: now)
            if elapsed >= limit {
                return BudgetExceeded(budget: .time, limit: seconds(limit), used: seconds(elapsed),
                                      message: "time budget reached: \(format(elapsed)) elapsed, limit \(format(limit))")
            }
        }
        return nil
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    static func format(_ duration: Duration) -> String {
        String(format: "%.1fs", seconds(duration))
    }

    static func dollars(_ amount: Double) -> String {
        String(format: "%.4f", amount)
    }
}
