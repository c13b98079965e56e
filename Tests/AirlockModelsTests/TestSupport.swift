import Foundation
import Synchronization

import AirlockTestSupport
@testable import AirlockModels

extension RecordedRequest {
    /// The body parsed as JSON.
    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body)) }
}

enum Fixtures {
    static let fastRetry = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10),
                                       maxDelay: .milliseconds(40))

    static func endpoint(_ server: TestHTTPServer, suffix: String = "", key: String? = "sk-test",
                         stream: Bool = true, retry: RetryPolicy = fastRetry,
                         timeout: Duration = .seconds(20),
                         maxBytes: Int = 1 << 20) -> ProviderEndpoint {
        ProviderEndpoint(baseURL: server.baseURL + suffix, apiKey: key, stream: stream,
                         retry: retry, requestTimeout: timeout, maxResponseBytes: maxBytes)
    }

    static let shellTool = ToolSpec(
        name: "shell", description: "Run a shell command",
        parameters: ["type": "object", "properties": ["command": ["type": "string"]],
                     "required": ["command"]])

    /// A conversation with a finished tool round, so request shapes cover every message kind.
    static let request = ModelRequest(
        messages: [
            .system("You are careful."),
            .user("List the files."),
            .assistant(AssistantTurn(text: "Looking.", toolCalls: [
                ToolCall(id: "call_1", name: "shell", arguments: #"{"command":"ls"}"#),
                ToolCall(id: "call_2", name: "shell", arguments: #"{"command":"pwd"}"#),
            ])),
            .tool(callID: "call_1", name: "shell", content: "a.txt", isError: false),
            .tool(callID: "call_2", name: "shell", content: "denied", isError: true),
        ],
        tools: [shellTool])

    /// One SSE `data:` event per JSON text.
    static func sse(_ events: [String], done: Bool = true) -> String {
        events.map { "data: \($0)\n\n" }.joined() + (done ? "data: [DONE]\n\n" : "")
    }
}

/// Collects what a model reported through its observer.
final class EventLog: Sendable {
    private let events = Mutex<[ModelEvent]>([])

    var observer: ModelObserver { { event in self.events.withLock { $0.append(event) } } }
    var all: [ModelEvent] { events.withLock { $0 } }

    var text: String {
        all.compactMap { if case .textDelta(let piece) = $0 { piece } else { nil } }.joined()
    }

    var retries: [Int] {
        all.compactMap { if case .retrying(let attempt, _, _) = $0 { attempt } else { nil } }
    }
}
