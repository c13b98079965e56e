import Foundation
import Testing

@testable import AirlockModels

@Suite struct ConfigurationTests {
    @Test func missingKeyNamesTheVariable() {
        for (provider, variable) in [(ModelSpec.Provider.openai, "OPENAI_API_KEY"),
                                     (.anthropic, "ANTHROPIC_API_KEY")] {
            #expect(provider.defaultAPIKeyEnv == variable)
            #expect {
                _ = try ModelFactory.make(ModelSpec(provider: provider, name: "m"),
                                          options: ModelOptions(apiKey: ""))
            } throws: { error in
                let error = error as? ModelError
                return error?.kind == .configuration && error?.message.contains(variable) == true
            }
        }
        #expect {
            _ = try ModelFactory.make(ModelSpec(provider: .openai, name: "m"),
                                      options: ModelOptions(apiKeyEnv: "MY_KEY"))
        } throws: { error in
            (error as? ModelError)?.message.contains("MY_KEY") == true
        }
    }

    @Test func loopbackNeedsNoKey() throws {
        for base in ["http://127.0.0.1:8080/v1", "http://localhost:1234", "http://[::1]:9/v1"] {
            let model = try ModelFactory.make(ModelSpec(provider: .openai, name: "m"),
                                              options: ModelOptions(baseURL: base))
            #expect(model is OpenAIChatModel)
        }
    }

    @Test func buildsEachProvider() throws {
        let options = ModelOptions(apiKey: "k")
        let openai = try ModelFactory.make(ModelSpec(provider: .openai, name: "gpt"), options: options)
        let anthropic = try ModelFactory.make(ModelSpec(provider: .anthropic, name: "claude"),
                                              options: options)
        #expect((openai as? OpenAIChatModel)?.endpoint.baseURL == "https://api.openai.com/v1")
        #expect((anthropic as? AnthropicModel)?.endpoint.baseURL == "https://api.anthropic.com")
        let trailing = try ModelFactory.make(ModelSpec(provider: .anthropic, name: "c"),
                                             options: ModelOptions(baseURL: "http://127.0.0.1:1/"))
        #expect((trailing as? AnthropicModel)?.endpoint.baseURL == "http://127.0.0.1:1")
    }

    @Test(arguments: ["not a url", "ftp://example.com", "http://"])
    func invalidBaseURL(_ base: String) {
        #expect {
            _ = try ModelFactory.make(ModelSpec(provider: .openai, name: "m"),
                                      options: ModelOptions(baseURL: base, apiKey: "k"))
        } throws: { error in
            (error as? ModelError)?.kind == .configuration
        }
    }

    @Test func backoffStaysWithinBounds() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for attempt in 1...8 {
            let ceiling = min(Duration.milliseconds(100) * (1 << (attempt - 1)), .seconds(1))
            for _ in 0..<20 {
                let delay = policy.delay(afterAttempt: attempt)
                #expect(delay >= .zero && delay <= ceiling)
            }
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3600)) == .seconds(1))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .zero) == .zero)
        #expect(RetryPolicy(maxAttempts: 0).maxAttempts == 1)
    }

    @Test func retryAfterForms() throws {
        #expect(RetryAfter.parse([("Retry-After", "2")]) == .seconds(2))
        #expect(RetryAfter.parse([("retry-after-ms", "250"), ("retry-after", "9")]) == .milliseconds(250))
        #expect(RetryAfter.parse([("Retry-After", "soon")]) == nil)
        #expect(RetryAfter.parse([]) == nil)
        let now = try #require(RetryAfter.httpDate("Wed, 21 Oct 2015 07:28:00 GMT"))
        let later = [("Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT")]
        #expect(RetryAfter.parse(later, now: now) == .seconds(30))
        #expect(RetryAfter.parse([("Retry-After", "Wed, 21 Oct 2015 07:27:00 GMT")], now: now) == .zero)
    }
}
