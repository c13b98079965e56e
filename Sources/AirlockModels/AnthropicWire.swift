/// The Messages API wire format: request encoding and non-streamed response parsing.
enum AnthropicWire {
    static func imageBlock(_ image: ToolImage) -> JSONValue {
        .object(["type": "image", "source": .object(["type": "base64", "media_type": .string(image.mediaType),
                                                     "data": .string(image.data)])])
    }

    static func requestBody(_ request: ModelRequest, model: String, stream: Bool,
                            defaultMaxTokens: Int) -> JSONValue {
        var system: [String] = []
        var messages: [(role: String, blocks: [JSONValue])] = []
        // Consecutive same-role content (tool results, then a user note) shares one message:
        // the API wants user and assistant to alternate.
        func append(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if let last = messages.last, last.role == role {
                messages[messages.count - 1].blocks += blocks
            } else {
                messages.append((role, blocks))
            }
        }
        for message in request.messages {
            switch message {
            case .system(let text): system.append(text)
            case .user(let text): append("user", [textBlock(text)])
            case .assistant(let turn): append("assistant", assistantBlocks(turn))
            case .tool(let callID, _, let content, let isError):
                append("user", [.object(["type": "tool_result", "tool_use_id": .string(callID),
                                         "content": .string(content), "is_error": .bool(isError)])])
            case .toolImages(let callID, let images):
                // Images join their call's tool_result: its content becomes text then image blocks.
                let blocks = images.map(imageBlock)
                if let last = messages.last, last.role == "user",
                   let index = last.blocks.lastIndex(where: { $0["tool_use_id"]?.stringValue == callID }),
                   case .object(var result) = last.blocks[index] {
                    let text = result["content"] ?? .string("")
                    result["content"] = .array([.object(["type": "text", "text": text])] + blocks)
                    messages[messages.count - 1].blocks[index] = .object(result)
                } else {
                    append("user", blocks)
                }
            }
        }
        var body: [String: JSONValue] = [
            "model": .string(model),
            "max_tokens": .int(request.maxOutputTokens ?? defaultMaxTokens),
            "messages": .array(messages.map { .object(["role": .string($0.role),
                                                       "content": .array($0.blocks)]) }),
        ]
        if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { tool in
                .object(["name": .string(tool.name), "description": .string(tool.description),
                         "input_schema": tool.parameters])
            })
        }
        if stream { body["stream"] = .bool(true) }
        return .object(body)
    }

    static func textBlock(_ text: String) -> JSONValue {
        .object(["type": "text", "text": .string(text)])
    }

    /// The API rejects empty text blocks, and `input` must be an object: arguments that
    /// are not a JSON object (the validator already refused them) are sent as `{}`.
    static func assistantBlocks(_ turn: AssistantTurn) -> [JSONValue] {
        var blocks: [JSONValue] = []
        if let text = turn.text, !text.isEmpty { blocks.append(textBlock(text)) }
        for call in turn.toolCalls {
            var input = JSONValue.object([:])
            if let parsed = JSONText.decode(call.arguments), case .object = parsed { input = parsed }
            blocks.append(.object(["type": "tool_use", "id": .string(call.id),
                                   "name": .string(call.name), "input": input]))
        }
        return blocks
    }

    static func parseMessage(_ json: JSONValue) throws -> AssistantTurn {
        if json["type"]?.stringValue == "error" { throw streamError(json["error"]) }
        guard case .array(let content)? = json["content"] else {
            throw AttemptFailure.malformed("message has no content array")
        }
        var texts: [String] = []
        var calls: [ToolCall] = []
        for block in content {
            switch block["type"]?.stringValue {
            case "text": if let text = block["text"]?.stringValue { texts.append(text) }
            case "tool_use":
                calls.append(ToolCallRepair.make(id: block["id"]?.stringValue,
                                                 name: block["name"]?.stringValue ?? "",
                                                 arguments: block["input"], index: calls.count))
            default: break  // thinking and future block types carry nothing the loop uses
            }
        }
        return AssistantTurn(text: texts.isEmpty ? nil : texts.joined(), toolCalls: calls,
                             usage: usage(json["usage"]),
                             finishReason: json["stop_reason"]?.stringValue)
    }

    /// Cached prompt tokens are still input the run paid for, so they count as input.
    static func usage(_ json: JSONValue?) -> Usage? {
        guard let json, case .object = json else { return nil }
        let input = Usage.sum(["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
            .map { json[$0]?.intValue ?? 0 })
        return Usage(inputTokens: input, outputTokens: json["output_tokens"]?.intValue ?? 0)
    }

    /// `{"type": "overloaded_error", "message": …}`: overload and server faults are
    /// transient, anything else (invalid request, auth) is not.
    static func streamError(_ error: JSONValue?) -> AttemptFailure {
        let type = error?["type"]?.stringValue ?? "error"
        let message = error?["message"]?.stringValue ?? "unknown error"
        let status: Int? = switch type {
        case "overloaded_error": 529
        case "api_error": 500
        case "rate_limit_error": 429
        default: nil
        }
        return AttemptFailure(error: ModelError(.http, "\(type): \(message)", status: status),
                              retryable: status != nil)
    }
}
