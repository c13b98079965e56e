/// The Chat Completions wire format: request encoding and non-streamed response parsing.
enum OpenAIWire {
    static func requestBody(_ request: ModelRequest, model: String, stream: Bool) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array(request.messages.map(message)),
        ]
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { tool in
                .object(["type": "function", "function": .object([
                    "name": .string(tool.name), "description": .string(tool.description),
                    "parameters": tool.parameters,
                ])])
            })
        }
        if let limit = request.maxOutputTokens {
            body[usesCompletionTokens(model) ? "max_completion_tokens" : "max_tokens"] = .int(limit)
        }
        if stream {
            body["stream"] = .bool(true)
            body["stream_options"] = .object(["include_usage": .bool(true)])
        }
        return .object(body)
    }

    /// Reasoning models reject `max_tokens`; older and third-party servers only know it.
    static func usesCompletionTokens(_ model: String) -> Bool {
        ["o1", "o3", "o4", "gpt-5"].contains { model.hasPrefix($0) }
    }

    static func message(_ message: ChatMessage) -> JSONValue {
        switch message {
        case .system(let text):
            return .object(["role": "system", "content": .string(text)])
        case .user(let text):
            return .object(["role": "user", "content": .string(text)])
        case .assistant(let turn):
            var object: [String: JSONValue] = [
                "role": "assistant",
                "content": turn.text.map { .string($0) } ?? .null,
            ]
            if !turn.toolCalls.isEmpty {
                object["tool_calls"] = .array(turn.toolCalls.map { call in
                    .object(["id": .string(call.id), "type": "function", "function": .object([
                        "name": .string(call.name), "arguments": .string(call.arguments),
                    ])])
                })
            }
            return .object(object)
        case .tool(let callID, _, let content, _):
            // Chat Completions has no error flag; the content itself says what went wrong.
            return .object(["role": "tool", "tool_call_id": .string(callID),
                            "content": .string(content)])
        case .toolImages(let callID, let images):
            // A tool message holds text only: the images follow as a user message of parts.
            return .object(["role": "user", "content": .array(
                [.object(["type": "text", "text": .string("Images returned by tool call \(callID):")])]
                + images.map { image in
                    .object(["type": "image_url", "image_url": .object(["url": .string("data:\(image.mediaType);base64,\(image.data)")])])
                })])
        }
    }

    static func parseCompletion(_ json: JSONValue) throws -> AssistantTurn {
        if let error = json["error"], error != .null {
            throw AttemptFailure(error: ModelError(.http, "provider error: "
                                                       + (error["message"]?.stringValue ?? "\(error)")),
                                 retryable: false)
        }
        guard case .array(let choices)? = json["choices"], let choice = choices.first,
              let message = choice["message"]
        else {
            throw AttemptFailure.malformed("chat completion has no choices[0].message")
        }
        var calls: [ToolCall] = []
        if case .array(let rawCalls)? = message["tool_calls"] {
            for (index, raw) in rawCalls.enumerated() {
                let function = raw["function"]
                calls.append(ToolCallRepair.make(
                    id: raw["id"]?.stringValue, name: function?["name"]?.stringValue ?? "",
                    arguments: function?["arguments"], index: index))
            }
        }
        return AssistantTurn(text: text(message["content"]), toolCalls: calls,
                             usage: usage(json["usage"]),
                             finishReason: choice["finish_reason"]?.stringValue)
    }

    /// A string, or (some servers) an array of `{type: text, text}` parts.
    static func text(_ content: JSONValue?) -> String? {
        switch content {
        case .string(let text)?: return text
        case .array(let parts)?:
            let texts = parts.compactMap { $0["text"]?.stringValue }
            return texts.isEmpty ? nil : texts.joined()
        default: return nil
        }
    }

    static func usage(_ json: JSONValue?) -> Usage? {
        guard let json, case .object = json else { return nil }
        return Usage(inputTokens: json["prompt_tokens"]?.intValue ?? 0,
                     outputTokens: json["completion_tokens"]?.intValue ?? 0)
    }
}
