import Foundation

/// Builds the provider a `ModelSpec` names. The only place that turns options into a
/// configured model, so configuration faults surface before a run starts.
public enum ModelFactory {
    public static func make(_ spec: ModelSpec, options: ModelOptions = ModelOptions()) throws
        -> any LanguageModel
    {
        switch spec.provider {
        case .script:
            return try ScriptedModel(spec: spec)
        case .openai, .anthropic:
            let endpoint = try endpoint(for: spec, options: options)
            if spec.provider == .openai {
                return OpenAIChatModel(spec: spec, endpoint: endpoint)
            }
            return AnthropicModel(spec: spec, endpoint: endpoint)
        }
    }

    static func endpoint(for spec: ModelSpec, options: ModelOptions) throws -> ProviderEndpoint {
        let base = options.baseURL ?? spec.provider.defaultBaseURL ?? ""
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw ModelError(.configuration, "invalid base URL '\(base)' for \(spec)")
        }
        let key = options.apiKey.flatMap { $0.isEmpty ? nil : $0 }
        // A local server (llama.cpp, vLLM, a test double) usually wants no key.
        if key == nil && !isLoopback(host: host) {
            let variable = options.apiKeyEnv ?? spec.provider.defaultAPIKeyEnv ?? "API key"
            throw ModelError(.configuration,
                             "no API key for \(spec): set \(variable) in the environment")
        }
        return ProviderEndpoint(baseURL: base, apiKey: key, stream: options.stream,
                                retry: options.retry, requestTimeout: options.requestTimeout,
                                maxResponseBytes: options.maxResponseBytes)
    }

    static func isLoopback(host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
            || bare.hasSuffix(".localhost")
    }
}
