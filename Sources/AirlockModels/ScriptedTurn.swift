import Foundation

/// One turn of a model script, parsed once when the script is loaded.
struct ScriptedTurn: Sendable {
    var reply: AssistantTurn
    var delay: Duration?

    static func parseScript(_ data: Data, source: String) throws -> [ScriptedTurn] {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ModelError(.configuration, "model script '\(source)' is not valid JSON")
        }
        guard case .array(let items)? = root["turns"] else {
            throw ModelError(.configuration,
                             "model script '\(source)' needs a top-level \"turns\" array")
        }
        var callNumber = 0
        return try items.enumerated().map { index, item in
            try ScriptedTurn(item, index: index, source: source, callNumber: &callNumber)
        }
    }

    private init(_ item: JSONValue, index: Int, source: String, callNumber: inout Int) throws {
        func fail(_ why: String) -> ModelError {
            ModelError(.configuration, "model script '\(source)', turn \(index + 1): \(why)")
        }
        guard case .object = item else { throw fail("a turn must be an object") }
        var calls: [ToolCall] = []
        if let rawCalls = item["tool_calls"] {
            guard case .array(let list) = rawCalls else { throw fail("tool_calls must be an array") }
            for raw in list {
                guard let name = raw["name"]?.stringValue else {
                    throw fail("every tool call needs a \"name\"")
                }
                callNumber += 1
                let id = raw["id"]?.stringValue ?? "call_\(callNumber)"
                // A string is kept raw so scripts can feed invalid JSON to the validator.
                let arguments: String
                switch raw["arguments"] {
                case .string(let text)?: arguments = text
                case nil, .null?: arguments = "{}"
                case let value?: arguments = JSONText.encode(value)
                }
                calls.append(ToolCall(id: id, name: name, arguments: arguments))
            }
        }
        var usage: Usage?
        if let rawUsage = item["usage"] {
            usage = Usage(inputTokens: rawUsage["input_tokens"]?.intValue ?? 0,
                          outputTokens: rawUsage["output_tokens"]?.intValue ?? 0)
        }
        if let ms = item["delay_ms"] {
            guard let value = ms.intValue, value >= 0 else { throw fail("delay_ms must be >= 0") }
            delay = .milliseconds(value)
        }
        let finish = item["finish_reason"]?.stringValue ?? (calls.isEmpty ? "stop" : "tool_calls")
        reply = AssistantTurn(text: item["text"]?.stringValue, toolCalls: calls, usage: usage,
                              finishReason: finish)
    }
}
