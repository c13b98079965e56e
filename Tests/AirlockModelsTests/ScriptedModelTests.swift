import Foundation
import Testing

@testable import AirlockModels

@Suite struct ScriptedModelTests {
    static let request = ModelRequest(messages: [.user("go")], tools: [])

    static func model(_ json: String) throws -> ScriptedModel {
        try ScriptedModel(spec: ModelSpec(provider: .script, name: "inline.json"), json: Data(json.utf8))
    }

    @Test func replaysTurnsInOrderThenExhausts() async throws {
        let model = try Self.model(#"""
        {"turns": [
          {"tool_calls": [{"name": "shell", "arguments": {"command": "ls"}},
                          {"name": "read_file", "arguments": "{not json", "id": "mine"}],
           "usage": {"input_tokens": 100, "output_tokens": 20}},
          {"text": "All done."}
        ]}
        """#)
        let first = try await model.complete(Self.request, observer: nil)
        #expect(first.toolCalls == [
            ToolCall(id: "call_1", name: "shell", arguments: #"{"command":"ls"}"#),
            ToolCall(id: "mine", name: "read_file", arguments: "{not json"),
        ])
        #expect(first.usage == Usage(inputTokens: 100, outputTokens: 20))
        #expect(first.finishReason == "tool_calls")

        let log = EventLog()
        let second = try await model.complete(Self.request, observer: log.observer)
        #expect(second.text == "All done." && second.toolCalls.isEmpty && second.usage == nil)
        #expect(log.text == "All done.")
        #expect(await model.remainingTurns == 0)

        await #expect(throws: ModelError(.scriptExhausted,
                                         "model script 'inline.json' has no turn left after 2")) {
            _ = try await model.complete(Self.request, observer: nil)
        }
    }

    @Test func callIDsAreNumberedAcrossTurns() async throws {
        let model = try Self.model(#"""
        {"turns": [{"tool_calls": [{"name": "a"}]}, {"tool_calls": [{"name": "b", "arguments": {}}]}]}
        """#)
        let first = try await model.complete(Self.request, observer: nil)
        let second = try await model.complete(Self.request, observer: nil)
        #expect(first.toolCalls.map(\.id) == ["call_1"])
        #expect(first.toolCalls.first?.arguments == "{}")
        #expect(second.toolCalls.map(\.id) == ["call_2"])
    }

    @Test func delayIsObserved() async throws {
        let model = try Self.model(#"{"turns": [{"text": "slow", "delay_ms": 50}]}"#)
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await model.complete(Self.request, observer: nil)
        #expect(clock.now - start >= .milliseconds(50))
    }

    @Test func delayIsCancellable() async throws {
        let model = try Self.model(#"{"turns": [{"text": "never", "delay_ms": 60000}]}"#)
        let task = Task { try await model.complete(Self.request, observer: nil) }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    @Test func loadsFromFileThroughFactory() async throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("airlock-script-\(UUID().uuidString).json")
        try Data(#"{"turns": [{"text": "from file"}]}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let spec = try #require(ModelSpec(parsing: "script:\(url.path)"))
        let model = try ModelFactory.make(spec)
        #expect(model.spec == spec)
        #expect(try await model.complete(Self.request, observer: nil).text == "from file")
    }

    @Test func missingFileIsAConfigurationError() throws {
        #expect {
            _ = try ScriptedModel(path: "/nonexistent/airlock/script.json")
        } throws: { error in
            let error = error as? ModelError
            return error?.kind == .configuration
                && error?.message.contains("/nonexistent/airlock/script.json") == true
        }
    }

    @Test(arguments: ["not json", #"{"steps": []}"#, #"{"turns": [1]}"#,
                      #"{"turns": [{"tool_calls": [{"arguments": {}}]}]}"#,
                      #"{"turns": [{"text": "x", "delay_ms": -1}]}"#])
    func invalidScriptsAreConfigurationErrors(_ json: String) throws {
        #expect {
            _ = try Self.model(json)
        } throws: { error in
            (error as? ModelError)?.kind == .configuration
        }
    }
}
