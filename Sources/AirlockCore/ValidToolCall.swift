import AirlockModels

/// A tool call that passed its schema, as a typed value the loop can switch on.
public enum ValidToolCall: Sendable, Hashable {
    case shell(command: String, timeoutSeconds: Int?)
    case readFile(path: String)
    case writeFile(path: String, content: String)
    case editFile(path: String, old: String, new: String)
    case listFiles(path: String)
    case submit(answer: String)
    /// A tool declared in the config file (`tools:`), its argv already built.
    case declared(DeclaredCall)
    /// A tool of an MCP server (`mcp__SERVER__TOOL`), run by a `ToolProvider`.
    case provided(ProvidedCall)

    public var name: String {
        switch self {
        case .shell: return BuiltinTools.shell.name
        case .readFile: return BuiltinTools.readFile.name
        case .writeFile: return BuiltinTools.writeFile.name
        case .editFile: return BuiltinTools.editFile.name
        case .listFiles: return BuiltinTools.listFiles.name
        case .submit: return BuiltinTools.submit.name
        case .declared(let call): return call.tool
        case .provided(let call): return call.tool
        }
    }

    /// The normalised arguments (defaults filled in), for the ledger and policy rules.
    public var arguments: JSONValue {
        switch self {
        case .shell(let command, let timeout):
            var members: [String: JSONValue] = ["command": .string(command)]
            if let timeout { members["timeout_s"] = .int(timeout) }
            return .object(members)
        case .readFile(let path): return .object(["path": .string(path)])
        case .writeFile(let path, let content): return .object(["path": .string(path), "content": .string(content)])
        case .editFile(let path, let old, let new):
            return .object(["path": .string(path), "old": .string(old), "new": .string(new)])
        case .listFiles(let path): return .object(["path": .string(path)])
        case .submit(let answer): return .object(["answer": .string(answer)])
        case .declared(let call): return call.arguments
        case .provided(let call): return call.arguments
        }
    }
}
