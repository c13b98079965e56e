import AirlockModels
import AirlockSchema

/// A tool the user declares in `airlock.yaml` (`tools:`): a program run in the sandbox
/// with an argv built from the validated arguments. Placeholders are whole arguments
/// (`"{path}"`), never spliced into a string and never seen by a shell.
public struct DeclaredTool: Sendable {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case placeholder(String)
    }

    public var name: String
    public var description: String
    public var inputSchema: JSONValue
    public var schema: JSONSchema
    public var argv: [Part]
    /// Relative to /workspace unless absolute.
    public var workdir: String?
    /// Set for the command on top of the sandbox's own environment (values written in the
    /// config file; nothing is copied from the harness's environment).
    public var env: [String: String]
    public var timeoutSeconds: Int?
    /// The call changes nothing, so `resume` may run it again.
    public var readOnly: Bool

    public var spec: ToolSpec { ToolSpec(name: name, description: description, parameters: inputSchema) }

    /// The argv for validated arguments, or why not: a value that begins with `-` where an
    /// option could be read (no literal `--` before it), or a value no argument can hold.
    public func command(for arguments: JSONValue) -> Result<[String], ToolCallProblem> {
        var result: [String] = []
        var afterDoubleDash = false
        for part in argv {
            switch part {
            case .literal(let text):
                result.append(text)
                if text == "--" { afterDoubleDash = true }
            case .placeholder(let key):
                guard let value = arguments[key] else { continue }
                let values: [JSONValue]
                if case .array(let items) = value { values = items } else { values = [value] }
                for item in values {
                    guard let text = Self.argument(item) else {
                        return .failure(problem(.wrongType, key, "\"\(key)\" must be a string, number or boolean (or a list of them) to become an argument"))
                    }
                    if text.hasPrefix("-") && !afterDoubleDash {
                        return .failure(problem(.notAllowed, key, "\"\(key)\" begins with '-' and would be read as an option; this tool does not take options there"))
                    }
                    if text.utf8.contains(0) {
                        return .failure(problem(.notAllowed, key, "\"\(key)\" contains a NUL byte"))
                    }
                    result.append(text)
                }
            }
        }
        return .success(result)
    }

    private func problem(_ kind: ToolCallProblem.Kind, _ field: String, _ message: String) -> ToolCallProblem {
        ToolCallProblem(kind: kind, tool: name, field: field, message: "\(name): \(message)")
    }

    static func argument(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .double(let number): return number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }
}
