import AirlockModels

/// Compact JSON renderings of conversation pieces for the ledger and events.
enum Transcript {
    static func turn(_ turn: AssistantTurn, step: Int) -> JSONValue {
        var object: [String: JSONValue] = ["step": .int(step)]
        if let text = turn.text { object["text"] = .string(text) }
        object["tool_calls"] = .array(turn.toolCalls.map {
            .object(["id": .string($0.id), "name": .string($0.name), "arguments": .string($0.arguments)])
        })
        if let usage = turn.usage {
            object["usage"] = .object(["input_tokens": .int(usage.inputTokens), "output_tokens": .int(usage.outputTokens)])
        }
        if let reason = turn.finishReason { object["finish_reason"] = .string(reason) }
        return .object(object)
    }

    static func summary(_ message: ChatMessage?) -> JSONValue {
        switch message {
        case .system(let text), .user(let text): return .string(String(text.prefix(200)))
        case .tool(let id, let name, let content, let isError):
            return .object(["tool": .string(name), "call": .string(id), "error": .bool(isError),
                            "content": .string(String(content.prefix(200)))])
        case .assistant(let turn): return .string(String((turn.text ?? "").prefix(200)))
        case .toolImages(let id, let images):
            return .object(["call": .string(id), "images": .array(images.map { .string("\($0.mediaType) \($0.byteCount) bytes") })])
        case nil: return .null
        }
    }

    static func argumentSummary(_ call: ValidToolCall) -> String {
        switch call {
        case .shell(let command, _): return String(command.prefix(80))
        case .readFile(let path), .listFiles(let path): return path
        case .writeFile(let path, let content): return "\(path) (\(content.utf8.count) bytes)"
        case .editFile(let path, _, _): return path
        case .submit(let answer): return String(answer.prefix(80))
        case .declared(let call): return String(call.argv.joined(separator: " ").prefix(80))
        case .provided(let call): return String(call.arguments.canonicalJSON.prefix(80))
        }
    }
}

extension JSONValue {
    /// The members of an object; empty for anything else.
    public var objectMembers: [String: JSONValue] {
        if case .object(let members) = self { return members }
        return [:]
    }
}
