import AirlockTestSupport
import Foundation
import Testing

@testable import AirlockModels

@Suite struct AnthropicModelTests {
    static func event(_ name: String, _ data: JSONValue) -> String {
        "event: \(name)\ndata: \(JSONText.encode(data))\n\n"
    }

    static let input = #"{"path":"dir/ß.txt","content":"a\tb 日本"}"#

    static func streamedToolUse() -> String {
        let fragments = [String(input.prefix(3)), String(input.dropFirst(3).prefix(21)),
                         String(input.dropFirst(24))]
        var text = event("message_start", ["type": "message_start", "message": [
            "id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "model": "claude-test", "stop_reason": nil,
            "usage": ["input_tokens": 25, "output_tokens": 1]]])
        text += event("content_block_start", ["type": "content_block_start", "index": 0,
                                              "content_block": ["type": "text", "text": ""]])
        text += ": a comment the client must ignore\n\n"
        text += event("ping", ["type": "ping"])
        text += event("content_block_delta", ["type": "content_block_delta", "index": 0,
                                              "delta": ["type": "text_delta", "text": "Writing "]])
        text += event("content_block_delta", ["type": "content_block_delta", "index": 0,
                                              "delta": ["type": "text_delta", "text": "it ✓"]])
        text += event("content_block_stop", ["type": "content_block_stop", "index": 0])
        text += event("content_block_start", ["type": "content_block_start", "index": 1,
                                              "content_block": ["type": "tool_use", "id": "toolu_1",
                                                                "name": "write_file", "input": [:]]])
        for piece in [""] + fragments {
            text += event("content_block_delta", ["type": "content_block_delta", "index": 1,
                                                  "delta": ["type": "input_json_delta",
                                                            "partial_json": .string(piece)]])
        }
        text += event("content_block_stop", ["type": "content_block_stop", "index": 1])
        // A tool with no input: no fragments at all must still give `{}`.
        text += event("content_block_start", ["type": "content_block_start", "index": 2,
                                              "content_block": ["type": "tool_use", "id": "toolu_2",
                                                                "name": "list_files", "input": [:]]])
        text += event("content_block_stop", ["type": "content_block_stop", "index": 2])
        text += event("message_delta", ["type": "message_delta",
                                        "delta": ["stop_reason": "tool_use", "stop_sequence": nil],
                                        "usage": ["output_tokens": 57]])
        text += event("message_stop", ["type": "message_stop"])
        return text.replacingOccurrences(of: "\n", with: "\r\n")
    }

    static func model(_ server: TestHTTPServer, stream: Bool = true) -> AnthropicModel {
        AnthropicModel(spec: ModelSpec(provider: .anthropic, name: "claude-test"),
                       endpoint: Fixtures.endpoint(server, key: "sk-ant-test", stream: stream))
    }

    @Test func streamedToolUseWithInputFragments() async throws {
        let response = CannedResponse.sse(Self.streamedToolUse(), cut: 6)
        #expect(response.chunks.contains { ($0.first ?? 0) & 0xC0 == 0x80 })
        try await TestHTTPServer.with([response]) { server in
            let log = EventLog()
            let turn = try await Self.model(server).complete(Fixtures.request, observer: log.observer)
            #expect(turn.text == "Writing it ✓")
            #expect(log.text == "Writing it ✓")
            #expect(turn.toolCalls == [
                ToolCall(id: "toolu_1", name: "write_file", arguments: Self.input),
                ToolCall(id: "toolu_2", name: "list_files", arguments: "{}"),
            ])
            #expect(turn.usage == Usage(inputTokens: 25, outputTokens: 57))
            #expect(turn.finishReason == "tool_use")

            let request = try #require(server.requests.first)
            #expect(request.uri == "/v1/messages")
            #expect(request.header("x-api-key") == "sk-ant-test")
            #expect(request.header("anthropic-version") == "2023-06-01")
            #expect(request.header("content-type") == "application/json")
            #expect(request.header("authorization") == nil)
            let body = try #require(request.json)
            #expect(body["model"] == "claude-test")
            #expect(body["stream"] == true)
            #expect(body["max_tokens"] == 4096)
            #expect(body["system"] == "You are careful.")
            #expect(body["tools"] == [["name": "shell", "description": "Run a shell command",
                                       "input_schema": Fixtures.shellTool.parameters]])
            #expect(body["messages"] == [
                ["role": "user", "content": [["type": "text", "text": "List the files."]]],
                ["role": "assistant", "content": [
                    ["type": "text", "text": "Looking."],
                    ["type": "tool_use", "id": "call_1", "name": "shell", "input": ["command": "ls"]],
                    ["type": "tool_use", "id": "call_2", "name": "shell", "input": ["command": "pwd"]],
                ]],
                // Both results travel in one user message.
                ["role": "user", "content": [
                    ["type": "tool_result", "tool_use_id": "call_1", "content": "a.txt",
                     "is_error": false],
                    ["type": "tool_result", "tool_use_id": "call_2", "content": "denied",
                     "is_error": true],
                ]],
            ])
        }
    }

    @Test func nonStreamingMessage() async throws {
        let body = #"""
        {"id":"msg_2","type":"message","role":"assistant","model":"claude-test",
         "content":[{"type":"text","text":"Let me look."},
                    {"type":"tool_use","id":"toolu_9","name":"shell","input":{"command":"ls"}}],
         "stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":5,
         "cache_read_input_tokens":4}}
        """#
        try await TestHTTPServer.with([.json(body)]) { server in
            let request = ModelRequest(messages: [.user("hi")], tools: [], maxOutputTokens: 64)
            let turn = try await Self.model(server, stream: false).complete(request, observer: nil)
            #expect(turn.text == "Let me look.")
            #expect(turn.toolCalls == [ToolCall(id: "toolu_9", name: "shell",
                                                arguments: #"{"command":"ls"}"#)])
            #expect(turn.usage == Usage(inputTokens: 14, outputTokens: 5))
            #expect(turn.finishReason == "tool_use")
            let sent = try #require(server.requests.first?.json)
            #expect(sent["max_tokens"] == 64 && sent["stream"] == nil && sent["tools"] == nil)
        }
    }

    @Test func overloadedStreamErrorIsRetried() async throws {
        let overloaded = Self.event("error", ["type": "error", "error": [
            "type": "overloaded_error", "message": "Overloaded"]])
        let ok = Self.event("message_start", ["type": "message_start", "message": [
            "usage": ["input_tokens": 3, "output_tokens": 0]]])
            + Self.event("content_block_start", ["type": "content_block_start", "index": 0,
                                                 "content_block": ["type": "text", "text": ""]])
            + Self.event("content_block_delta", ["type": "content_block_delta", "index": 0,
                                                 "delta": ["type": "text_delta", "text": "hi"]])
            + Self.event("message_delta", ["type": "message_delta",
                                           "delta": ["stop_reason": "end_turn"],
                                           "usage": ["output_tokens": 1]])
            + Self.event("message_stop", ["type": "message_stop"])
        try await TestHTTPServer.with([.sse(overloaded), .sse(ok)]) { server in
            let log = EventLog()
            let turn = try await Self.model(server).complete(Fixtures.request, observer: log.observer)
            #expect(turn.text == "hi" && turn.finishReason == "end_turn")
            #expect(turn.usage == Usage(inputTokens: 3, outputTokens: 1))
            #expect(log.retries == [1])
        }
    }

    @Test func invalidRequestSurfacesProviderMessage() async throws {
        let bad = CannedResponse.json(
            #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: must be positive"}}"#,
            status: 400)
        try await TestHTTPServer.with([bad]) { server in
            do {
                _ = try await Self.model(server).complete(Fixtures.request, observer: nil)
                Issue.record("expected a failure")
            } catch let error as ModelError {
                #expect(error.kind == .http && error.status == 400 && error.attempts == 1)
                #expect(error.message.contains("max_tokens: must be positive"))
            }
        }
    }

    @Test func streamCutBeforeMessageStopIsRetried() async throws {
        let whole = Self.streamedToolUse()
        let cut = String(whole.prefix(whole.count / 2))
        try await TestHTTPServer.with([.sse(cut, cut: 64, drop: true), .sse(whole, cut: 64)]) { server in
            let log = EventLog()
            let turn = try await Self.model(server).complete(Fixtures.request, observer: log.observer)
            #expect(turn.toolCalls.first?.arguments == Self.input)
            #expect(log.retries == [1])
            let bodies = server.requests.map(\.body)
            #expect(bodies.count == 2 && bodies.first == bodies.last)
        }
    }
}
