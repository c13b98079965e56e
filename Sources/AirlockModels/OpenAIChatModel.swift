import AsyncHTTPClient
import Foundation

/// `openai:NAME` over Chat Completions (`POST {base}/chat/completions`). Works with any
/// server that speaks the same wire format (vLLM, llama.cpp, Ollama) via the base URL.
public struct OpenAIChatModel: LanguageModel {
    public let spec: ModelSpec
    /// Images go as `image_url` data-URL parts of a user message after the tool messages.
    public var acceptsImages: Bool { true }
    public let endpoint: ProviderEndpoint

    public init(spec: ModelSpec, endpoint: ProviderEndpoint) {
        self.spec = spec
        self.endpoint = endpoint
    }

    /// Convenience for `openai:NAME` at the given base URL (default `https://api.openai.com/v1`).
    public init(name: String, apiKey: String?,
                baseURL: String = ModelSpec.Provider.openai.defaultBaseURL ?? "",
                stream: Bool = true, retry: RetryPolicy = RetryPolicy(),
                requestTimeout: Duration = .seconds(600)) {
        self.init(spec: ModelSpec(provider: .openai, name: name),
                  endpoint: ProviderEndpoint(baseURL: baseURL, apiKey: apiKey, stream: stream,
                                             retry: retry, requestTimeout: requestTimeout))
    }

    public func complete(_ request: ModelRequest, observer: ModelObserver?) async throws
        -> AssistantTurn
    {
        var headers = [("content-type", "application/json")]
        if let key = endpoint.apiKey { headers.append(("authorization", "Bearer \(key)")) }
        let stream = endpoint.stream
        if stream { headers.append(("accept", "text/event-stream")) }
        let call = ProviderCall(
            endpoint: endpoint, url: endpoint.baseURL + "/chat/completions", headers: headers,
            body: JSONText.bytes(OpenAIWire.requestBody(request, model: spec.name, stream: stream)))
        return try await call.turn(streaming: stream, observer: observer, accumulator: OpenAIStreamAccumulator.self,
                                   describing: "chat completion", parse: OpenAIWire.parseCompletion)
    }
}
