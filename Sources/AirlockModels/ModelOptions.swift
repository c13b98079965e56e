/// How to reach a provider. The CLI fills it from flags and the environment; the models
/// never read the environment themselves, so tests and the core stay hermetic.
public struct ModelOptions: Sendable {
    /// Overrides the provider's default base URL (`…/v1` for OpenAI, host root for Anthropic).
    public var baseURL: String?
    /// The API key value; nil or empty means none was found.
    public var apiKey: String?
    /// The variable the key was looked up in, for error messages; defaults to the provider's.
    public var apiKeyEnv: String?
    public var stream: Bool
    public var retry: RetryPolicy
    /// Limit for one attempt, streamed body included.
    public var requestTimeout: Duration
    /// Largest response body accepted; more is treated as a malformed reply.
    public var maxResponseBytes: Int

    public init(baseURL: String? = nil, apiKey: String? = nil, apiKeyEnv: String? = nil,
                stream: Bool = true, retry: RetryPolicy = RetryPolicy(),
                requestTimeout: Duration = .seconds(600),
                maxResponseBytes: Int = 32 * 1024 * 1024) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.apiKeyEnv = apiKeyEnv
        self.stream = stream
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
    }
}
