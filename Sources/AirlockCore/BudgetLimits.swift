/// What a run may spend. nil means no limit.
public struct BudgetLimits: Sendable, Hashable {
    /// Model turns.
    public var maxSteps: Int?
    /// Input plus output tokens over the whole run.
    public var maxTokens: Int?
    public var maxCostUSD: Double?
    /// Wall time of the whole run.
    public var timeout: Duration?
    /// Wall time of one tool call; also caps a shell call's own `timeout_s`.
    public var callTimeout: Duration?
    /// Bytes through the egress proxy, up and down, over the whole run.
    public var maxEgressBytes: Int?

    public init(maxSteps: Int? = nil, maxTokens: Int? = nil, maxCostUSD: Double? = nil,
                timeout: Duration? = nil, callTimeout: Duration? = nil, maxEgressBytes: Int? = nil) {
        self.maxEgressBytes = maxEgressBytes
        self.maxSteps = maxSteps
        self.maxTokens = maxTokens
        self.maxCostUSD = maxCostUSD
        self.timeout = timeout
        self.callTimeout = callTimeout
    }

    /// The timeout for one shell call: what the model asked for, within `callTimeout`.
    public func effectiveCallTimeout(requestedSeconds: Int?) -> Duration? {
        let requested = requestedSeconds.map { Duration.seconds($0) }
        switch (requested, callTimeout) {
        case let (requested?, limit?): return min(requested, limit)
        case let (requested?, nil): return requested
        case let (nil, limit): return limit
        }
    }
}
