import AsyncHTTPClient

/// Where and how a provider sends its requests; shared by the OpenAI and Anthropic models.
public struct ProviderEndpoint: Sendable {
    /// Base URL without a trailing slash.
    public var baseURL: String
    public var apiKey: String?
    public var stream: Bool
    public var retry: RetryPolicy
    public var requestTimeout: Duration
    public var maxResponseBytes: Int
    /// `HTTPClient.models` by default, so connections are pooled across models.
    public var client: HTTPClient

    public init(baseURL: String, apiKey: String?, stream: Bool = true,
                retry: RetryPolicy = RetryPolicy(), requestTimeout: Duration = .seconds(600),
                maxResponseBytes: Int = 32 * 1024 * 1024, client: HTTPClient = .models) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKey = apiKey
        self.stream = stream
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.client = client
    }
}
