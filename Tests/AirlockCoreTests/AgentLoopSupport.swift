import AirlockModels
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Synchronization
import Testing

@testable import AirlockCore
import AirlockBubblewrap
@testable import AirlockStoreSQLite

/// One agent run against a real bubblewrap sandbox: a fresh workspace under /tmp (the
/// sandbox uid can reach it) and a fresh state dir, both removed by `remove()`.
struct LoopFixture {
    let workspace: String
    let stateDir: URL

    init() throws {
        let tag = UUID().uuidString.prefix(8)
        workspace = NSTemporaryDirectory() + "airlock-loop-ws-" + tag
        stateDir = URL(fileURLWithPath: NSTemporaryDirectory() + "airlock-loop-state-" + tag, isDirectory: true)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: workspace)
        try? FileManager.default.removeItem(at: stateDir)
    }

    func store(redactor: Redactor = Redactor()) throws -> Store {
        try Store(stateDirectory: stateDir, redactor: redactor)
    }

    func configuration(_ spec: ModelSpec, limits: BudgetLimits = BudgetLimits(),
                       task: String = "do the task") -> RunConfiguration {
        RunConfiguration(task: task, model: spec, limits: limits, sandbox: SandboxConfiguration(workspace: workspace))
    }

    /// Runs the loop to its end; a hang is a failure, not a wait.
    func run(_ model: any LanguageModel, limits: BudgetLimits = BudgetLimits(), store: Store? = nil,
             limit: Duration = .seconds(30),
             edit: (inout RunConfiguration) -> Void = { _ in }) async throws -> LoopRun {
        var configuration = self.configuration(model.spec, limits: limits)
        edit(&configuration)
        let store = try store ?? self.store()
        let events = EventRecorder()
        let loop = AgentLoop(configuration: configuration, model: model, backend: BubblewrapBackend(),
                             store: store, onEvent: events.handler)
        let result = try await withLimit(limit) { try await loop.run() }
        return LoopRun(result: result, events: events, store: store)
    }

    func file(_ name: String) -> String? {
        FileManager.default.contents(atPath: workspace + "/" + name).map { String(decoding: $0, as: UTF8.self) }
    }
}

struct LoopRun {
    var result: RunResult
    var events: EventRecorder
    var store: Store

    var ledgerKinds: [String] {
        ((try? store.ledgerEntries(run: result.runID, after: 0)) ?? []).map(\.kind.rawValue)
    }

    /// `run_finished`'s `budget.budget`, e.g. "steps".
    var finishedBudget: String? { events.finished?.fields["budget"]?["budget"]?.stringValue }
}


/// Collects what a run reported through `onEvent`.
final class EventRecorder: Sendable {
    private let events = Mutex<[RunEvent]>([])

    var handler: RunEventHandler { { event in self.events.withLock { $0.append(event) } } }
    var all: [RunEvent] { events.withLock { $0 } }
    var types: [String] { all.map(\.type) }
    var finished: RunEvent? { all.last { $0.type == "run_finished" } }
}

/// Scripted models built from Swift values (the same JSON `script:FILE` reads).
enum Script {
    static func model(_ turns: [[String: Any]], spec: ModelSpec = ModelSpec(provider: .script, name: "inline.json")) throws
        -> ScriptedModel {
        try ScriptedModel(spec: spec, json: Data(WireJSON.text(["turns": turns]).utf8))
    }

    static func shell(_ command: String, usage: (Int, Int)? = nil, timeout: Int? = nil) -> [String: Any] {
        var arguments: [String: Any] = ["command": command]
        if let timeout { arguments["timeout_s"] = timeout }
        return turn([["name": "shell", "arguments": arguments]], usage: usage)
    }

    static func submit(_ answer: String = "done", usage: (Int, Int)? = nil) -> [String: Any] {
        turn([["name": "submit", "arguments": ["answer": answer]]], usage: usage)
    }

    static func turn(_ calls: [[String: Any]], usage: (Int, Int)? = nil) -> [String: Any] {
        var turn: [String: Any] = ["tool_calls": calls]
        if let usage { turn["usage"] = ["input_tokens": usage.0, "output_tokens": usage.1] }
        return turn
    }
}

enum WireJSON {
    static func text(_ object: Any) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// Chat Completions streams as a server sends them.
enum OpenAIStream {
    /// One assistant turn with tool calls, the arguments of each split into `pieces`
    /// fragments over separate chunks, then a finish chunk and (optionally) a usage chunk
    /// with no choices, as `stream_options.include_usage` produces.
    static func toolCalls(_ calls: [(id: String, name: String, arguments: String)], usage: (Int, Int)? = nil,
                          pieces: Int = 3, done: Bool = true) -> String {
        var events: [Any] = []
        for (index, call) in calls.enumerated() {
            events.append(chunk(["tool_calls": [["index": index, "id": call.id, "type": "function",
                                                  "function": ["name": call.name, "arguments": ""]]]],
                                first: index == 0))
            for fragment in split(call.arguments, into: pieces) {
                events.append(chunk(["tool_calls": [["index": index, "function": ["arguments": fragment]]]]))
            }
        }
        events.append(["id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "test",
                       "choices": [["index": 0, "delta": [String: Any](), "finish_reason": "tool_calls"]]])
        if let usage {
            events.append(["id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "test", "choices": [Any](),
                           "usage": ["prompt_tokens": usage.0, "completion_tokens": usage.1,
                                     "total_tokens": usage.0.addingReportingOverflow(usage.1).partialValue]])
        }
        return sse(events, done: done)
    }

    static func call(_ id: String, _ name: String, _ arguments: String, usage: (Int, Int)? = nil) -> CannedResponse {
        .sse(toolCalls([(id, name, arguments)], usage: usage))
    }

    static func shell(_ id: String, _ command: String, usage: (Int, Int)? = nil) -> CannedResponse {
        call(id, "shell", WireJSON.text(["command": command]), usage: usage)
    }

    static func submit(_ id: String, _ answer: String = "done", usage: (Int, Int)? = nil) -> CannedResponse {
        call(id, "submit", WireJSON.text(["answer": answer]), usage: usage)
    }

    static func chunk(_ delta: [String: Any], first: Bool = false) -> [String: Any] {
        var delta = delta
        if first { delta["role"] = "assistant"; delta["content"] = NSNull() }
        return ["id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "test",
                "choices": [["index": 0, "delta": delta, "finish_reason": NSNull()]]]
    }

    static func sse(_ events: [Any], done: Bool) -> String {
        events.map { "data: \(WireJSON.text($0))\n\n" }.joined() + (done ? "data: [DONE]\n\n" : "")
    }

    /// Splits text into `count` nearly equal parts (by character, so fragments cut
    /// through keys, values and escapes alike).
    static func split(_ text: String, into count: Int) -> [String] {
        let characters = Array(text)
        let size = max(1, (characters.count + count - 1) / count)
        return stride(from: 0, to: characters.count, by: size).map {
            String(characters[$0..<min($0 + size, characters.count)])
        }
    }
}

/// Messages API streams as a server sends them.
enum AnthropicStream {
    static func toolUse(id: String, name: String, input: String, usage: (Int, Int), pieces: Int = 3) -> CannedResponse {
        var events: [(String, Any)] = [
            ("message_start", ["type": "message_start", "message": [
                "id": "msg_1", "type": "message", "role": "assistant", "content": [Any](), "model": "claude-test",
                "stop_reason": NSNull(), "usage": ["input_tokens": usage.0, "output_tokens": 1]]]),
            ("content_block_start", ["type": "content_block_start", "index": 0,
                                     "content_block": ["type": "text", "text": ""]]),
            ("content_block_delta", ["type": "content_block_delta", "index": 0,
                                     "delta": ["type": "text_delta", "text": "Working on it."]]),
            ("content_block_stop", ["type": "content_block_stop", "index": 0]),
            ("content_block_start", ["type": "content_block_start", "index": 1,
                                     "content_block": ["type": "tool_use", "id": id, "name": name,
                                                       "input": [String: Any]()]]),
        ]
        for fragment in OpenAIStream.split(input, into: pieces) {
            events.append(("content_block_delta", ["type": "content_block_delta", "index": 1,
                                                   "delta": ["type": "input_json_delta", "partial_json": fragment]]))
        }
        events += [
            ("content_block_stop", ["type": "content_block_stop", "index": 1]),
            ("message_delta", ["type": "message_delta", "delta": ["stop_reason": "tool_use"],
                               "usage": ["output_tokens": usage.1]]),
            ("message_stop", ["type": "message_stop"]),
        ]
        return .sse(events.map { "event: \($0.0)\ndata: \(WireJSON.text($0.1))\n\n" }.joined())
    }
}

extension RecordedRequest {
    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body)) }

    /// `messages` of a Chat Completions or Messages request body.
    var messages: [JSONValue] { json?["messages"]?.array ?? [] }
}

extension JSONValue {
    var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

enum Providers {
    static let fastRetry = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20))

    static func openAI(_ server: TestHTTPServer, name: String = "test-model", key: String? = "sk-test",
                       retry: RetryPolicy = fastRetry) -> OpenAIChatModel {
        OpenAIChatModel(name: name, apiKey: key, baseURL: server.baseURL + "/v1", stream: true, retry: retry,
                        requestTimeout: .seconds(20))
    }

    static func anthropic(_ server: TestHTTPServer, name: String = "claude-test", key: String? = "sk-ant-test",
                          retry: RetryPolicy = fastRetry) -> AnthropicModel {
        AnthropicModel(name: name, apiKey: key, baseURL: server.baseURL, stream: true, retry: retry,
                       requestTimeout: .seconds(20))
    }
}

/// Wraps a model and keeps every request the loop sent it.
final class RecordingModel: LanguageModel {
    let inner: any LanguageModel
    private let sent = Mutex<[ModelRequest]>([])

    init(_ inner: any LanguageModel) { self.inner = inner }

    var spec: ModelSpec { inner.spec }
    var requests: [ModelRequest] { sent.withLock { $0 } }

    func complete(_ request: ModelRequest, observer: ModelObserver?) async throws -> AssistantTurn {
        sent.withLock { $0.append(request) }
        return try await inner.complete(request, observer: observer)
    }

    /// The content of the last tool result in request `index`.
    func lastToolResult(_ index: Int) -> (content: String, isError: Bool)? {
        let all = requests
        guard index < all.count else { return nil }
        for message in all[index].messages.reversed() {
            if case .tool(_, _, let content, let isError) = message { return (content, isError) }
        }
        return nil
    }
}
