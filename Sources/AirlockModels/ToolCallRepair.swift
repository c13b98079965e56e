import Foundation

/// Normalises tool calls as providers send them, so the core always sees an id and JSON
/// text. Only unambiguous repairs; anything else is passed through for the validator.
enum ToolCallRepair {
    static func make(id: String?, name: String, arguments: JSONValue?, index: Int) -> ToolCall {
        ToolCall(id: self.id(id, index: index), name: name, arguments: text(arguments))
    }

    /// An object sent where a string belongs is re-encoded; missing arguments mean `{}`.
    static func text(_ arguments: JSONValue?) -> String {
        switch arguments {
        case nil, .null?: return "{}"
        case .string(let text)?:
            return text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? "{}" : text
        case let value?: return JSONText.encode(value)
        }
    }

    static func text(_ arguments: String) -> String {
        text(.string(arguments))
    }

    /// Some servers omit ids; the loop needs one to pair the result with the call.
    static func id(_ id: String?, index: Int) -> String {
        if let id, !id.isEmpty { return id }
        return "call_\(String(UInt32.random(in: 0...UInt32.max), radix: 36))_\(index)"
    }
}
