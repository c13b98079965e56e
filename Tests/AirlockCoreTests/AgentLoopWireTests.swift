import AirlockModels
import AirlockTestSupport
import Foundation
import Testing

@testable import AirlockCore
@testable import AirlockStoreSQLite

/// Whole runs driven by an HTTP server in the test that speaks each provider's real wire
/// format, with every tool call running in a real bubblewrap sandbox.
@Suite("agent loop over the wire", .timeLimit(.minutes(1)))
struct AgentLoopWireTests {
    @Test("OpenAI: streamed tool-call deltas run in the sandbox, the result goes back, submit ends the run")
    func openAIWholeRun() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let responses = [
            OpenAIStream.shell("call_a", "echo hi > f.txt && echo wrote-it", usage: (100, 20)),
            OpenAIStream.submit("call_b", "f.txt holds hi", usage: (150, 10)),
        ]
        try await TestHTTPServer.with(responses) { server in
            let run = try await fixture.run(Providers.openAI(server))
            #expect(run.result.outcome == .submitted, "\(run.result.reason)")
            #expect(run.result.exitCode == 0)
            #expect(run.result.answer == "f.txt holds hi")
            #expect(fixture.file("f.txt") == "hi\n", "the tool ran in the sandbox on the host workspace")

            // Tokens come from the usage chunks.
            #expect(run.result.usage.inputTokens == 250 && run.result.usage.outputTokens == 30)
            let record = try #require(try await run.store.run(id: run.result.runID))
            #expect(record.inputTokens == 250 && record.outputTokens == 30 && record.steps == 2)
            #expect(record.outcome == "submitted" && record.exitCode == 0)

            let requests = server.requests
            try #require(requests.count == 2)
            #expect(requests.allSatisfy { $0.uri == "/v1/chat/completions" })
            #expect(requests[0].header("authorization") == "Bearer sk-test")
            #expect(requests[0].json?["stream"] == .bool(true))
            // The second request carries the call as the assistant sent it, then its result.
            let messages = requests[1].messages
            try #require(messages.count >= 4)
            let assistant = messages[messages.count - 2]
            #expect(assistant["role"]?.stringValue == "assistant")
            let call = try #require(assistant["tool_calls"]?.array?.first)
            #expect(call["id"]?.stringValue == "call_a")
            #expect(call["type"]?.stringValue == "function")
            #expect(call["function"]?["name"]?.stringValue == "shell")
            let arguments = try JSONValue(parsing: call["function"]?["arguments"]?.stringValue ?? "")
            #expect(arguments["command"]?.stringValue == "echo hi > f.txt && echo wrote-it")
            let result = try #require(messages.last)
            #expect(result["role"]?.stringValue == "tool")
            #expect(result["tool_call_id"]?.stringValue == "call_a")
            let content = result["content"]?.stringValue ?? ""
            #expect(content.contains("exit code: 0") && content.contains("wrote-it"), "\(content)")

            let types = run.events.types
            #expect(types.first == "run_started" && types.last == "run_finished")
            let toolResult = try #require(run.events.all.first { $0.type == "tool_result" })
            #expect(toolResult.fields["exit_code"] == .int(0))
            #expect(run.events.finished?.fields["exit_code"] == .int(0))
            #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
        }
    }

    @Test("Anthropic: streamed input_json deltas run in the sandbox, the tool_result goes back, submit ends the run")
    func anthropicWholeRun() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let responses = [
            AnthropicStream.toolUse(id: "toolu_1", name: "shell",
                                    input: WireJSON.text(["command": "echo hi > f.txt && echo wrote-it"]),
                                    usage: (120, 30)),
            AnthropicStream.toolUse(id: "toolu_2", name: "submit", input: WireJSON.text(["answer": "done"]),
                                    usage: (200, 5)),
        ]
        try await TestHTTPServer.with(responses) { server in
            let run = try await fixture.run(Providers.anthropic(server))
            #expect(run.result.outcome == .submitted, "\(run.result.reason)")
            #expect(run.result.exitCode == 0)
            #expect(run.result.answer == "done")
            #expect(fixture.file("f.txt") == "hi\n")
            #expect(run.result.usage.inputTokens == 320 && run.result.usage.outputTokens == 35)

            let requests = server.requests
            try #require(requests.count == 2)
            #expect(requests.allSatisfy { $0.uri == "/v1/messages" })
            #expect(requests[0].header("x-api-key") == "sk-ant-test")
            #expect(requests[0].header("anthropic-version") != nil)
            let messages = requests[1].messages
            try #require(messages.count >= 3)
            // The assistant turn goes back with its text and the tool_use, input as an object.
            let assistant = messages[messages.count - 2]
            #expect(assistant["role"]?.stringValue == "assistant")
            let blocks = assistant["content"]?.array ?? []
            #expect(blocks.first?["type"]?.stringValue == "text")
            let use = try #require(blocks.first { $0["type"]?.stringValue == "tool_use" })
            #expect(use["id"]?.stringValue == "toolu_1" && use["name"]?.stringValue == "shell")
            #expect(use["input"]?["command"]?.stringValue == "echo hi > f.txt && echo wrote-it")
            // Then the result, as a tool_result block of a user message.
            let user = try #require(messages.last)
            #expect(user["role"]?.stringValue == "user")
            let result = try #require(user["content"]?.array?.first)
            #expect(result["type"]?.stringValue == "tool_result")
            #expect(result["tool_use_id"]?.stringValue == "toolu_1")
            #expect(result["is_error"] == .bool(false))
            let content = result["content"]?.stringValue ?? ""
            #expect(content.contains("exit code: 0") && content.contains("wrote-it"), "\(content)")
        }
    }

    @Test("a 429 with Retry-After: 0, then success: the run finishes and the ledger records the retry")
    func rateLimitedThenSuccess() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let limited = CannedResponse.json(#"{"error":{"message":"Rate limit reached","type":"rate_limit"}}"#,
                                          status: 429, headers: [("retry-after", "0")])
        // A slow backoff: only Retry-After: 0 lets this finish in time.
        let slow = RetryPolicy(maxAttempts: 3, baseDelay: .seconds(60), maxDelay: .seconds(60))
        try await TestHTTPServer.with([limited, OpenAIStream.submit("call_1", usage: (10, 2))]) { server in
            let run = try await fixture.run(Providers.openAI(server, retry: slow))
            #expect(run.result.outcome == .submitted, "\(run.result.reason)")
            #expect(run.result.exitCode == 0)
            #expect(server.requests.count == 2)
            #expect(server.requests.first?.body == server.requests.last?.body)
            let retries = try await run.store.ledgerEntries(run: run.result.runID).filter { $0.kind == .modelRetry }
            try #require(retries.count == 1)
            #expect(retries[0].payload["delay_ms"] == .int(0))
            #expect(retries[0].payload["reason"]?.stringValue?.contains("429") == true)
        }
    }

    @Test("a dropped stream, then success: the run finishes")
    func droppedStreamThenSuccess() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let cut = CannedResponse.sse(OpenAIStream.toolCalls([("call_x", "shell", #"{"command":"echo partial"}"#)],
                                                            done: false)
                                         .components(separatedBy: "\n\n").prefix(2).joined(separator: "\n\n"),
                                     drop: true)
        let responses = [cut, OpenAIStream.shell("call_1", "echo ok > ok.txt"), OpenAIStream.submit("call_2")]
        try await TestHTTPServer.with(responses) { server in
            let run = try await fixture.run(Providers.openAI(server))
            #expect(run.result.outcome == .submitted, "\(run.result.reason)")
            #expect(fixture.file("ok.txt") == "ok\n")
            #expect(server.requests.count == 3)
            #expect(run.ledgerKinds.contains("model_retry"))
            // The half-streamed call from the dropped attempt never ran.
            let calls = try await run.store.toolCalls(run: run.result.runID)
            #expect(!calls.contains { $0.callID == "call_x" })
        }
    }

    @Test("invalid JSON arguments and an unknown tool go back to the model as errors; the run goes on")
    func malformedCallsAreReported() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let responses = [
            OpenAIStream.call("call_1", "shell", #"{"command": "echo hi"#),
            OpenAIStream.call("call_2", "frobnicate", #"{"x": 1}"#),
            OpenAIStream.shell("call_3", "echo fine > fine.txt"),
            OpenAIStream.submit("call_4"),
        ]
        try await TestHTTPServer.with(responses) { server in
            let run = try await fixture.run(Providers.openAI(server))
            #expect(run.result.outcome == .submitted, "\(run.result.reason)")
            #expect(fixture.file("fine.txt") == "fine\n")
            let requests = server.requests
            try #require(requests.count == 4)

            let afterInvalid = try #require(requests[1].messages.last)
            #expect(afterInvalid["role"]?.stringValue == "tool")
            #expect(afterInvalid["tool_call_id"]?.stringValue == "call_1")
            let invalid = afterInvalid["content"]?.stringValue ?? ""
            #expect(invalid.hasPrefix("error:") && invalid.contains("not valid JSON"), "\(invalid)")

            let afterUnknown = try #require(requests[2].messages.last)
            #expect(afterUnknown["tool_call_id"]?.stringValue == "call_2")
            let unknown = afterUnknown["content"]?.stringValue ?? ""
            #expect(unknown.contains("unknown tool") && unknown.contains("frobnicate"), "\(unknown)")
            #expect(unknown.contains("shell") && unknown.contains("submit"), "the message lists the real tools")

            #expect(run.ledgerKinds.filter { $0 == "tool_call_rejected" }.count == 2)
            #expect(run.events.all.filter { $0.type == "tool_rejected" }.count == 2)
        }
    }

    @Test("three malformed calls in a row end the run: format_errors, exit 1")
    func threeMalformedCallsEndTheRun() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let responses = [
            OpenAIStream.call("call_1", "shell", "{not json"),
            OpenAIStream.call("call_2", "no_such_tool", "{}"),
            OpenAIStream.call("call_3", "shell", #"{"cmd": "ls"}"#),
            OpenAIStream.submit("call_4"),
        ]
        try await TestHTTPServer.with(responses) { server in
            let run = try await fixture.run(Providers.openAI(server))
            #expect(run.result.outcome == .formatErrors, "\(run.result.reason)")
            #expect(run.result.exitCode == 1)
            #expect(server.requests.count == 3, "no model call after the third bad one")
            #expect(run.events.finished?.fields["outcome"]?.stringValue == "format_errors")
            #expect(run.events.finished?.fields["exit_code"] == .int(1))
            #expect(run.result.reason.contains("3"))
        }
    }
}
