import Foundation

/// Builds one assistant turn from Chat Completions stream chunks. Tool calls arrive as
/// fragments keyed by `index`: id and name first, then argument text split anywhere.
struct OpenAIStreamAccumulator {
    private struct PartialCall {
        var id: String?
        var name = ""
        var arguments = ""
        /// Set when a server sent the arguments as an object rather than text.
        var objectArguments: JSONValue?
    }

    private let observer: ModelObserver?
    private var text = ""
    private var sawText = false
    private var calls: [Int: PartialCall] = [:]
    private var usage: Usage?
    private var finishReason: String?

    init(observer: ModelObserver?) {
        self.observer = observer
    }

    /// Takes one SSE event; true once `[DONE]` arrived.
    mutating func consume(_ event: SSEEvent) throws -> Bool {
        let data = event.data.trimmingCharacters(in: .whitespacesAndNewlines)
        if data == "[DONE]" { return true }
        guard let chunk = JSONText.decode(data) else {
            throw AttemptFailure.malformed("stream chunk is not JSON: \(data.prefix(200))")
        }
        if let error = chunk["error"], error != .null {
            throw AttemptFailure(error: ModelError(.http, "provider error in stream: "
                                                       + (error["message"]?.stringValue ?? "\(error)")),
                                 retryable: false)
        }
        if let reported = OpenAIWire.usage(chunk["usage"]) { usage = reported }
        guard case .array(let choices)? = chunk["choices"], let choice = choices.first else {
            return false  // the usage chunk carries no choices
        }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        guard let delta = choice["delta"] else { return false }
        if let fragment = delta["content"]?.stringValue, !fragment.isEmpty {
            text += fragment
            sawText = true
            observer?(.textDelta(fragment))
        }
        if case .array(let fragments)? = delta["tool_calls"] {
            for (position, fragment) in fragments.enumerated() {
                merge(fragment, at: fragment["index"]?.intValue ?? position)
            }
        }
        return false
    }

    private mutating func merge(_ fragment: JSONValue, at index: Int) {
        var call = calls[index] ?? PartialCall()
        if let id = fragment["id"]?.stringValue, !id.isEmpty, call.id == nil { call.id = id }
        let function = fragment["function"]
        if let name = function?["name"]?.stringValue { call.name += name }
        switch function?["arguments"] {
        case .string(let piece)?: call.arguments += piece
        case nil, .null?: break
        case let value?: call.objectArguments = value
        }
        calls[index] = call
    }

    func turn() -> AssistantTurn {
        let toolCalls = calls.keys.sorted().enumerated().compactMap { position, key -> ToolCall? in
            guard let call = calls[key] else { return nil }
            let arguments = call.objectArguments ?? .string(call.arguments)
            return ToolCallRepair.make(id: call.id, name: call.name, arguments: arguments,
                                       index: position)
        }
        return AssistantTurn(text: sawText ? text : nil, toolCalls: toolCalls, usage: usage,
                             finishReason: finishReason)
    }
}
