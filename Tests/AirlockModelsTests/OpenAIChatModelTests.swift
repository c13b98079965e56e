import AirlockTestSupport
import Foundation
import Testing

@testable import AirlockModels

@Suite struct OpenAIChatModelTests {
    /// Arguments with an escape sequence and multibyte characters, so fragment and chunk
    /// boundaries can land inside both.
    static let arguments = #"{"path":"notes/ü.txt","content":"line1\nnaïve 日本 \"q\""}"#

    static func chunk(_ delta: JSONValue, finish: JSONValue = nil) -> String {
        JSONText.encode(["id": "chatcmpl-1", "object": "chat.completion.chunk",
                         "choices": [["index": 0, "delta": delta, "finish_reason": finish]]])
    }

    static func streamedToolCall() -> String {
        let escape = arguments.firstIndex(of: "\\").map { arguments.distance(from: arguments.startIndex, to: $0) } ?? 0
        let cuts = [0, 4, escape + 1, escape + 9, arguments.count]
        let fragments = zip(cuts, cuts.dropFirst()).map { start, end in
            String(arguments.dropFirst(start).prefix(end - start))
        }
        var events = [
            chunk(["role": "assistant", "content": "Writing ✓ "]),
            chunk(["content": "now."]),
            chunk(["tool_calls": [["index": 0, "id": "call_abc", "type": "function",
                                   "function": ["name": "write_file", "arguments": ""]]]]),
        ]
        events += fragments.map { piece in
            chunk(["tool_calls": [["index": 0, "function": ["arguments": .string(piece)]]]])
        }
        events += [
            // A second call whose id the server left out: the client must invent one.
            chunk(["tool_calls": [["index": 1, "type": "function",
                                   "function": ["name": "shell", "arguments": #"{"comm"#]]]]),
            chunk(["tool_calls": [["index": 1, "function": ["arguments": #"and":"ls"}"#]]]]),
            chunk([:], finish: "tool_calls"),
            JSONText.encode(["id": "chatcmpl-1", "choices": [],
                             "usage": ["prompt_tokens": 12, "completion_tokens": 34,
                                       "total_tokens": 46]]),
        ]
        return Fixtures.sse(events)
    }

    @Test func streamedToolCallSplitAcrossChunks() async throws {
        let response = CannedResponse.sse(Self.streamedToolCall(), cut: 5)
        // The fixture must really cut inside a UTF-8 sequence for this test to mean anything.
        #expect(response.chunks.contains { ($0.first ?? 0) & 0xC0 == 0x80 })
        try await TestHTTPServer.with([response]) { server in
            let model = OpenAIChatModel(spec: ModelSpec(provider: .openai, name: "gpt-test"),
                                        endpoint: Fixtures.endpoint(server, suffix: "/v1"))
            let log = EventLog()
            let turn = try await model.complete(Fixtures.request, observer: log.observer)

            #expect(turn.text == "Writing ✓ now.")
            #expect(log.text == "Writing ✓ now.")
            #expect(turn.toolCalls.count == 2)
            #expect(turn.toolCalls.first == ToolCall(id: "call_abc", name: "write_file",
                                                     arguments: Self.arguments))
            let content = JSONText.decode(turn.toolCalls.first?.arguments ?? "")?["content"]
            #expect(content == "line1\nnaïve 日本 \"q\"")
            let second = try #require(turn.toolCalls.last)
            #expect(second.name == "shell" && second.arguments == #"{"command":"ls"}"#)
            #expect(!second.id.isEmpty && second.id != "call_abc")
            #expect(turn.usage == Usage(inputTokens: 12, outputTokens: 34))
            #expect(turn.finishReason == "tool_calls")

            let request = try #require(server.requests.first)
            #expect(request.method == "POST" && request.uri == "/v1/chat/completions")
            #expect(request.header("authorization") == "Bearer sk-test")
            let body = try #require(request.json)
            #expect(body["model"] == "gpt-test")
            #expect(body["stream"] == true)
            #expect(body["stream_options"]?["include_usage"] == true)
            #expect(body["tools"] == [["type": "function", "function": [
                "name": "shell", "description": "Run a shell command",
                "parameters": Fixtures.shellTool.parameters]]])
            let messages = try #require(body["messages"])
            #expect(messages == [
                ["role": "system", "content": "You are careful."],
                ["role": "user", "content": "List the files."],
                ["role": "assistant", "content": "Looking.", "tool_calls": [
                    ["id": "call_1", "type": "function",
                     "function": ["name": "shell", "arguments": #"{"command":"ls"}"#]],
                    ["id": "call_2", "type": "function",
                     "function": ["name": "shell", "arguments": #"{"command":"pwd"}"#]],
                ]],
                ["role": "tool", "tool_call_id": "call_1", "content": "a.txt"],
                ["role": "tool", "tool_call_id": "call_2", "content": "denied"],
            ])
        }
    }

    @Test func nonStreamingRepairsObjectArgumentsAndMissingID() async throws {
        let body = #"""
        {"id":"chatcmpl-2","object":"chat.completion","choices":[{"index":0,
         "message":{"role":"assistant","content":null,"tool_calls":[
           {"type":"function","function":{"name":"shell","arguments":{"command":"ls -la"}}}]},
         "finish_reason":"tool_calls"}],
         "usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}
        """#
        try await TestHTTPServer.with([.json(body)]) { server in
            let model = OpenAIChatModel(spec: ModelSpec(provider: .openai, name: "gpt-test"),
                                        endpoint: Fixtures.endpoint(server, suffix: "/v1",
                                                                    stream: false))
            let request = ModelRequest(messages: [.user("hi")], tools: [Fixtures.shellTool],
                                       maxOutputTokens: 100)
            let turn = try await model.complete(request, observer: nil)
            let call = try #require(turn.toolCalls.first)
            #expect(call.name == "shell")
            #expect(call.arguments == #"{"command":"ls -la"}"#)
            #expect(call.id.hasPrefix("call_"))
            #expect(turn.text == nil)
            #expect(turn.usage == Usage(inputTokens: 7, outputTokens: 3))
            #expect(turn.finishReason == "tool_calls")

            let sent = try #require(server.requests.first?.json)
            #expect(sent["stream"] == nil)
            #expect(sent["max_tokens"] == 100)
        }
    }

    @Test func plainTextReplyWithoutKeyOnLoopback() async throws {
        let body = #"{"choices":[{"message":{"role":"assistant","content":"Done."},"finish_reason":"stop"}]}"#
        try await TestHTTPServer.with([.json(body)]) { server in
            let options = ModelOptions(baseURL: server.baseURL + "/v1", apiKey: nil, stream: false,
                                       retry: Fixtures.fastRetry)
            let model = try ModelFactory.make(ModelSpec(provider: .openai, name: "local"),
                                              options: options)
            let turn = try await model.complete(ModelRequest(messages: [.user("hi")], tools: []),
                                                observer: nil)
            #expect(turn.text == "Done." && turn.toolCalls.isEmpty && turn.usage == nil)
            let request = try #require(server.requests.first)
            #expect(request.header("authorization") == nil)
            #expect(request.json?["tools"] == nil)
        }
    }

    /// Some compatible servers ignore `stream: true` and send one JSON body.
    @Test func streamingRequestAcceptsAPlainJSONReply() async throws {
        let body = #"{"choices":[{"message":{"role":"assistant","content":"whole"},"finish_reason":"stop"}]}"#
        try await TestHTTPServer.with([.json(body)]) { server in
            let model = OpenAIChatModel(spec: ModelSpec(provider: .openai, name: "gpt-test"),
                                        endpoint: Fixtures.endpoint(server, suffix: "/v1"))
            let turn = try await model.complete(Fixtures.request, observer: nil)
            #expect(turn.text == "whole")
        }
    }
}
