import AsyncHTTPClient
import Foundation

/// `anthropic:NAME` over the Messages API (`POST {base}/v1/messages`, base = host root).
public struct AnthropicModel: LanguageModel {
    public static let apiVersion = "2023-06-01"
    /// The API requires `max_tokens`; this is sent when the request sets none.
    public static let defaultMaxTokens = 4096

    public let spec: ModelSpec
    /// Tool results carry image blocks (`tool_result` content of text and `image` blocks).
    public var acceptsImages: Bool { true }
    public let endpoint: ProviderEndpoint

    public init(spec: ModelSpec, endpoint: ProviderEndpoint) {
        self.spec = spec
        self.endpoint = endpoint
    }

    /// Convenience for `anthropic:NAME` at the given host root (default `https://api.anthropic.com`).
    public init(name: String, apiKey: String?,
                baseURL: String = ModelSpec.Provider.anthropic.defaultBaseURL ?? "",
                stream: Bool = true, retry: RetryPolicy = RetryPolicy(),
                requestTimeout: Duration = .seconds(600)) {
        self.init(spec: ModelSpec(provider: .anthropic, name: name),
                  endpoint: ProviderEndpoint(baseURL: baseURL, apiKey: apiKey, stream: stream,
                                             retry: retry, requestTimeout: requestTimeout))
    }

    public func complete(_ request: ModelRequest, observer: ModelObserver?) async throws
        -> AssistantTurn
    {
        var headers = [("content-type", "application/json"),
                       ("anthropic-version", Self.apiVersion)]
        if let key = endpoint.apiKey { headers.append(("x-api-key", key)) }
        let stream = endpoint.stream
        if stream { headers.append(("accept", "text/event-stream")) }
        let body = AnthropicWire.requestBody(request, model: spec.name, stream: stream,
                                             defaultMaxTokens: Self.defaultMaxTokens)
        let call = ProviderCall(endpoint: endpoint, url: endpoint.baseURL + "/v1/messages",
                                headers: headers, body: JSONText.bytes(body))
        return try await call.turn(streaming: stream, observer: observer, accumulator: AnthropicStreamAccumulator.self,
                                   describing: "message", parse: AnthropicWire.parseMessage)
    }
}
