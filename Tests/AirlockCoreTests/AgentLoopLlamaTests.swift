import AirlockModels
import Foundation
import Testing

@testable import AirlockCore

/// Against a real `llama-server --jinja` (llama.cpp). Opt-in: start one, e.g.
/// `llama-server -hf ggml-org/Qwen2.5-Coder-1.5B-Instruct-Q8_0-GGUF --jinja --port 8080`,
/// then `AIRLOCK_LLAMA_URL=http://127.0.0.1:8080/v1 swift test --filter AgentLoopLlama`.
/// `AIRLOCK_LLAMA_MODEL` names the model if the server cares (default "local").
@Suite("agent loop against llama-server")
struct AgentLoopLlamaTests {
    static let url = ProcessInfo.processInfo.environment["AIRLOCK_LLAMA_URL"].flatMap { $0.isEmpty ? nil : $0 }

    @Test("a small task with a real local model",
          .enabled(if: url != nil, "set AIRLOCK_LLAMA_URL (e.g. http://127.0.0.1:8080/v1) to a llama-server started with --jinja"),
          .timeLimit(.minutes(5)))
    func smallTask() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let name = ProcessInfo.processInfo.environment["AIRLOCK_LLAMA_MODEL"] ?? "local"
        let model = OpenAIChatModel(name: name, apiKey: nil, baseURL: try #require(Self.url), stream: true,
                                    retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(200)),
                                    requestTimeout: .seconds(120))
        let run = try await fixture.run(model, limits: BudgetLimits(maxSteps: 8, timeout: .seconds(240)),
                                        limit: .seconds(270)) {
            $0.task = "Create a file named hello.txt in the workspace containing the text hi, then call submit."
        }
        let validated = run.ledgerKinds.filter { $0 == "tool_call_validated" }.count
        #expect(run.result.exitCode == 0 || validated > 0,
                "the model made no valid tool call: \(run.result.outcome) \(run.result.reason)")
        print("llama run: \(run.result.outcome), \(validated) valid tool calls, hello.txt: \(fixture.file("hello.txt") ?? "(missing)")")
    }
}
