import AirlockModels

/// A validated call of a provided (MCP) tool.
public struct ProvidedCall: Sendable, Hashable {
    public var tool: String
    public var arguments: JSONValue
}
