/// Why a tool call was refused before it ran. `message` is written for the model: it goes
/// back as the tool result so the model can correct the call.
public struct ToolCallProblem: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        case unknownTool = "unknown_tool"
        case invalidJSON = "invalid_json"
        case notAnObject = "not_an_object"
        case missingField = "missing_field"
        case wrongType = "wrong_type"
        case unknownField = "unknown_field"
        case emptyValue = "empty_value"
        case outOfRange = "out_of_range"
        case notAllowed = "not_allowed"
    }

    public var kind: Kind
    public var tool: String
    /// The JSON path of the offending value, e.g. `timeout_s`; nil for the call as a whole.
    public var field: String?
    public var message: String

    public init(kind: Kind, tool: String, field: String? = nil, message: String) {
        self.kind = kind
        self.tool = tool
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
