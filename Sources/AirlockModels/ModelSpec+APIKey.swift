extension ModelSpec.Provider {
    /// The environment variable the CLI reads the API key from unless told otherwise.
    /// Nil for the scripted provider, which needs no key.
    public var defaultAPIKeyEnv: String? {
        switch self {
        case .openai: return "OPENAI_API_KEY"
        case .anthropic: return "ANTHROPIC_API_KEY"
        case .script: return nil
        }
    }

    /// The base URL used when none is given (OpenAI style ends in `/v1`, Anthropic style
    /// is the host root, as each vendor SDK does).
    public var defaultBaseURL: String? {
        switch self {
        case .openai: return "https://api.openai.com/v1"
        case .anthropic: return "https://api.anthropic.com"
        case .script: return nil
        }
    }
}
