/// What the loop needs from a model provider: one assistant turn for a conversation.
/// Providers own their wire format, streaming and retries; the loop sees only values.
public protocol LanguageModel: Sendable {
    /// `provider:name` as given on the command line, e.g. `openai:gpt-4o-mini`.
    var spec: ModelSpec { get }
    /// One assistant turn. Throws `ModelError` when the provider failed after its retries.
    func complete(_ request: ModelRequest, observer: ModelObserver?) async throws -> AssistantTurn
    /// Whether images from tool results can be sent to it (else they are summarised).
    var acceptsImages: Bool { get }
}

extension LanguageModel {
    public var acceptsImages: Bool { false }
}

/// `openai:NAME`, `anthropic:NAME` or `script:FILE`.
public struct ModelSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Provider: String, Sendable, Codable, CaseIterable { case openai, anthropic, script }
    public var provider: Provider
    public var name: String

    public init(provider: Provider, name: String) {
        self.provider = provider
        self.name = name
    }

    /// Parses `provider:name`; nil when the provider is unknown or the name empty.
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        guard let provider = Provider(rawValue: String(text[..<colon])) else { return nil }
        let name = String(text[text.index(after: colon)...])
        guard !name.isEmpty else { return nil }
        self.init(provider: provider, name: name)
    }

    public var description: String { "\(provider.rawValue):\(name)" }
}

/// A tool as offered to the model: name, description, JSON Schema of its arguments.
public struct ToolSpec: Sendable, Hashable, Codable {
    public var name: String
    public var description: String
    public var parameters: JSONValue

    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// A tool call as the model proposed it. `arguments` is the JSON text exactly as received
/// (after repairs such as an object sent where a string belongs); the core validates it.
public struct ToolCall: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// Token counts as the provider reported them.
public struct Usage: Sendable, Hashable, Codable {
    public var inputTokens: Int
    public var outputTokens: Int

    /// Counts come from a server that may be hostile: each is clamped to 0…10¹⁵, so sums
    /// over a whole run can never overflow.
    public static let maximumCount = 1_000_000_000_000_000

    public init(inputTokens: Int = 0, outputTokens: Int = 0) {
        self.inputTokens = Self.clamped(inputTokens)
        self.outputTokens = Self.clamped(outputTokens)
    }

    public static func clamped(_ count: Int) -> Int { min(max(0, count), maximumCount) }

    /// Adds counts without trapping on a hostile server's numbers.
    public static func sum(_ counts: [Int]) -> Int {
        counts.reduce(0) { clamped($0 + clamped($1)) }
    }

    public var totalTokens: Int { inputTokens + outputTokens }
}

/// One reply of the model.
public struct AssistantTurn: Sendable, Hashable, Codable {
    public var text: String?
    public var toolCalls: [ToolCall]
    public var usage: Usage?
    /// The provider's own word for why it stopped (`stop`, `tool_calls`, `end_turn`, …).
    public var finishReason: String?

    public init(text: String? = nil, toolCalls: [ToolCall] = [], usage: Usage? = nil,
                finishReason: String? = nil) {
        self.text = text
        self.toolCalls = toolCalls
        self.usage = usage
        self.finishReason = finishReason
    }
}

/// One message of the conversation the loop keeps.
public enum ChatMessage: Sendable, Hashable, Codable {
    case system(String)
    case user(String)
    case assistant(AssistantTurn)
    /// The result of one tool call, sent back to the model.
    case tool(callID: String, name: String, content: String, isError: Bool)
    /// Images a tool call returned, after its `tool` message; sent only to a model whose
    /// `acceptsImages` is true.
    case toolImages(callID: String, images: [ToolImage])
}

public struct ModelRequest: Sendable, Hashable, Codable {
    public var messages: [ChatMessage]
    public var tools: [ToolSpec]
    public var maxOutputTokens: Int?

    public init(messages: [ChatMessage], tools: [ToolSpec], maxOutputTokens: Int? = nil) {
        self.messages = messages
        self.tools = tools
        self.maxOutputTokens = maxOutputTokens
    }
}

/// Progress a provider reports while it works (for live output and the ledger).
public enum ModelEvent: Sendable, Hashable {
    /// A fragment of streamed text.
    case textDelta(String)
    /// An attempt failed and will be retried after `delayMilliseconds`. Text streamed by
    /// the failed attempt is not retracted: a live view should drop its partial text here.
    case retrying(attempt: Int, reason: String, delayMilliseconds: Int)
}

public typealias ModelObserver = @Sendable (ModelEvent) -> Void

/// Faults of a provider. `retryable` faults were retried until the policy gave up.
public struct ModelError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        case http            // a non-success status
        case transport       // connect, timeout, dropped stream
        case malformed       // a body that does not parse as the wire format
        case configuration   // missing key, bad URL, unknown model
        case scriptExhausted // the scripted provider ran out of turns
    }
    public var kind: Kind
    public var message: String
    public var status: Int?
    public var attempts: Int

    public init(_ kind: Kind, _ message: String, status: Int? = nil, attempts: Int = 1) {
        self.kind = kind
        self.message = message
        self.status = status
        self.attempts = attempts
    }

    public var description: String {
        var text = "\(kind.rawValue) error: \(message)"
        if let status { text += " (HTTP \(status))" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }
}
