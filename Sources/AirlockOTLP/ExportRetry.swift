/// How often and how long a batch is retried: exponential backoff with jitter between
/// `base` and `cap`, a server's `Retry-After` honoured up to `retryAfterCap`, and at most
/// `attempts` tries before the batch is dropped. After a drop the collector is presumed
/// down: later batches get one try each until one goes through, so a dead collector costs
/// one failed connection per batch, not a backoff schedule per batch.
public struct ExportRetry: Sendable {
    public var attempts = 5
    public var base: Duration = .milliseconds(200)
    public var cap: Duration = .seconds(5)
    public var retryAfterCap: Duration = .seconds(30)

    public init() {}

    /// The pause before try `attempt + 1` (attempt counts from 1).
    func delay(after attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(retryAfter, retryAfterCap) }
        let exponent = min(attempt - 1, 20)
        let ceiling = min(base * (1 << exponent), cap)
        // Full jitter over the upper half: spreads a fleet's retries without waiting 0.
        let millis = max(1, Int(ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000))
        return .milliseconds(Int.random(in: (millis / 2)...millis))
    }
}
