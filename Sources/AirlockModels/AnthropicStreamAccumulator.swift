/// Builds one assistant turn from Messages API stream events. Tool input arrives as
/// `partial_json` fragments split anywhere; they are joined and parsed only at the end.
struct AnthropicStreamAccumulator {
    private struct Block {
        var isToolUse: Bool
        var text = ""
        var id: String?
        var name = ""
        var json = ""
        /// `content_block_start` may carry a complete input (seen from some proxies).
        var initialInput: JSONValue?
    }

    private let observer: ModelObserver?
    private var blocks: [Int: Block] = [:]
    private var inputUsage: Usage?
    private var outputTokens: Int?
    private var stopReason: String?

    init(observer: ModelObserver?) {
        self.observer = observer
    }

    /// Takes one SSE event; true at `message_stop`.
    mutating func consume(_ event: SSEEvent) throws -> Bool {
        guard let json = JSONText.decode(event.data) else {
            throw AttemptFailure.malformed("stream event is not JSON: \(event.data.prefix(200))")
        }
        let index = json["index"]?.intValue ?? 0
        switch json["type"]?.stringValue ?? event.event {
        case "message_start":
            inputUsage = AnthropicWire.usage(json["message"]?["usage"])
        case "content_block_start":
            let start = json["content_block"]
            var block = Block(isToolUse: start?["type"]?.stringValue == "tool_use")
            block.id = start?["id"]?.stringValue
            block.name = start?["name"]?.stringValue ?? ""
            block.text = start?["text"]?.stringValue ?? ""
            if let input = start?["input"], input != .object([:]), input != .null {
                block.initialInput = input
            }
            blocks[index] = block
        case "content_block_delta":
            applyDelta(json["delta"], to: index)
        case "message_delta":
            if let reason = json["delta"]?["stop_reason"]?.stringValue { stopReason = reason }
            if let tokens = json["usage"]?["output_tokens"]?.intValue { outputTokens = tokens }
            if let input = json["usage"]?["input_tokens"]?.intValue, inputUsage == nil {
                inputUsage = Usage(inputTokens: input)
            }
        case "message_stop":
            return true
        case "error":
            throw AnthropicWire.streamError(json["error"])
        default:
            break  // ping, content_block_stop and future events
        }
        return false
    }

    private mutating func applyDelta(_ delta: JSONValue?, to index: Int) {
        var block = blocks[index] ?? Block(isToolUse: delta?["type"]?.stringValue == "input_json_delta")
        switch delta?["type"]?.stringValue {
        case "text_delta":
            if let piece = delta?["text"]?.stringValue {
                block.text += piece
                observer?(.textDelta(piece))
            }
        case "input_json_delta":
            block.json += delta?["partial_json"]?.stringValue ?? ""
        default:
            break  // thinking and signature deltas
        }
        blocks[index] = block
    }

    func turn() -> AssistantTurn {
        var texts: [String] = []
        var calls: [ToolCall] = []
        for key in blocks.keys.sorted() {
            guard let block = blocks[key] else { continue }
            if block.isToolUse {
                // No fragments means the tool takes no input: `{}`.
                let arguments: JSONValue? = block.json.isEmpty ? block.initialInput : .string(block.json)
                calls.append(ToolCallRepair.make(id: block.id, name: block.name,
                                                 arguments: arguments, index: calls.count))
            } else if !block.text.isEmpty {
                texts.append(block.text)
            }
        }
        var usage: Usage?
        if inputUsage != nil || outputTokens != nil {
            usage = Usage(inputTokens: inputUsage?.inputTokens ?? 0, outputTokens: outputTokens ?? 0)
        }
        return AssistantTurn(text: texts.isEmpty ? nil : texts.joined(), toolCalls: calls,
                             usage: usage, finishReason: stopReason)
    }
}
