/// How a provider retries transient faults: 429, 5xx, timeouts, connection errors and
/// streams that end early. Other 4xx and malformed bodies are not retried: the server
/// answered deterministically and a retry would only spend budget.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included; 1 disables retries.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(500),
                maxDelay: Duration = .seconds(30)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The pause after failed attempt `attempt` (1-based). A server's `Retry-After` wins
    /// over backoff but is capped at `maxDelay` so a hostile value cannot stall a run.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration {
        if let retryAfter {
            return min(max(retryAfter, .zero), maxDelay)
        }
        // Full jitter (uniform in 0...ceiling) spreads clients that failed together.
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(baseDelay * (1 << exponent), maxDelay)
        let ceilingMs = max(0, Int(ceiling.milliseconds))
        return .milliseconds(Int.random(in: 0...ceilingMs))
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let parts = components
        return parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    }
}
