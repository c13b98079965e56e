import AirlockModels

/// A validated call of a declared tool: the arguments as the model gave them (for the
/// ledger and policy) and the argv they became.
public struct DeclaredCall: Sendable, Hashable {
    public var tool: String
    public var arguments: JSONValue
    public var argv: [String]
    public var workdir: String?
    public var env: [String: String]
    public var timeoutSeconds: Int?
    public var readOnly: Bool
}
