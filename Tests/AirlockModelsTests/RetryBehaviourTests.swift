import AsyncHTTPClient
import AirlockTestSupport
import Foundation
import Testing

@testable import AirlockModels

/// Retries and failure classification, driven through the OpenAI model (the shared
/// `ProviderCall` machinery is the same for Anthropic).
@Suite struct RetryBehaviourTests {
    static let okBody = #"{"choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#
    static let okStream = Fixtures.sse([
        #"{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}"#,
        #"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
    ])

    static func model(_ server: TestHTTPServer, stream: Bool = false,
                      retry: RetryPolicy = Fixtures.fastRetry, timeout: Duration = .seconds(20),
                      maxBytes: Int = 1 << 20) -> OpenAIChatModel {
        OpenAIChatModel(spec: ModelSpec(provider: .openai, name: "gpt-test"),
                        endpoint: Fixtures.endpoint(server, suffix: "/v1", stream: stream,
                                                    retry: retry, timeout: timeout,
                                                    maxBytes: maxBytes))
    }

    static func modelError(_ body: () async throws -> Void) async -> ModelError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? ModelError
        }
    }

    @Test func rateLimitedThenSuccessHonoursRetryAfter() async throws {
        let limited = CannedResponse.json(#"{"error":{"message":"Rate limit reached"}}"#,
                                          status: 429, headers: [("retry-after", "0")])
        try await TestHTTPServer.with([limited, .json(Self.okBody)]) { server in
            let log = EventLog()
            // Retry-After 0 must win over a backoff that would otherwise take a minute.
            let slow = RetryPolicy(maxAttempts: 3, baseDelay: .seconds(60), maxDelay: .seconds(60))
            let turn = try await Self.model(server, retry: slow)
                .complete(Fixtures.request, observer: log.observer)
            #expect(turn.text == "ok")
            #expect(log.retries == [1])
            if case .retrying(_, let reason, let delay)? = log.all.first {
                #expect(reason.contains("429") && reason.contains("Rate limit reached"))
                #expect(delay == 0)
            }
            let bodies = server.requests.map(\.body)
            #expect(bodies.count == 2)
            #expect(bodies.first == bodies.last)
        }
    }

    @Test func serverErrorThenSuccess() async throws {
        let failing = CannedResponse.json(#"{"error":{"message":"boom"}}"#, status: 500)
        try await TestHTTPServer.with([failing, .sse(Self.okStream)]) { server in
            let log = EventLog()
            let turn = try await Self.model(server, stream: true)
                .complete(Fixtures.request, observer: log.observer)
            #expect(turn.text == "ok" && turn.finishReason == "stop")
            #expect(log.retries == [1])
            #expect(server.requests.count == 2)
        }
    }

    @Test func droppedStreamIsRetried() async throws {
        let partial = Fixtures.sse([
            #"{"choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]}"#,
        ], done: false)
        try await TestHTTPServer.with([.sse(partial, drop: true), .sse(Self.okStream)]) { server in
            let log = EventLog()
            let turn = try await Self.model(server, stream: true)
                .complete(Fixtures.request, observer: log.observer)
            #expect(turn.text == "ok")
            #expect(log.retries == [1])
            let bodies = server.requests.map(\.body)
            #expect(bodies.count == 2 && bodies.first == bodies.last)
        }
    }

    @Test func streamEndingWithoutDoneIsRetried() async throws {
        let unterminated = Fixtures.sse([
            #"{"choices":[{"index":0,"delta":{"content":"half"},"finish_reason":null}]}"#,
        ], done: false)
        try await TestHTTPServer.with([.sse(unterminated), .sse(Self.okStream)]) { server in
            let turn = try await Self.model(server, stream: true)
                .complete(Fixtures.request, observer: nil)
            #expect(turn.text == "ok")
            #expect(server.requests.count == 2)
        }
    }

    @Test func clientErrorIsNotRetried() async throws {
        let bad = CannedResponse.json(
            #"{"error":{"message":"Invalid schema for function 'shell'","type":"invalid_request_error"}}"#,
            status: 400)
        try await TestHTTPServer.with([bad, .json(Self.okBody)]) { server in
            let error = await Self.modelError {
                _ = try await Self.model(server).complete(Fixtures.request, observer: nil)
            }
            #expect(error?.kind == .http)
            #expect(error?.status == 400)
            #expect(error?.attempts == 1)
            #expect(error?.message.contains("Invalid schema for function 'shell'") == true)
            #expect(server.requests.count == 1)
        }
    }

    @Test func retriesGiveUpWithAttemptCount() async throws {
        let unavailable = CannedResponse.json("upstream unavailable", status: 503)
        try await TestHTTPServer.with(Array(repeating: unavailable, count: 3)) { server in
            let log = EventLog()
            let error = await Self.modelError {
                _ = try await Self.model(server).complete(Fixtures.request, observer: log.observer)
            }
            #expect(error?.kind == .http && error?.status == 503)
            #expect(error?.attempts == 3)
            #expect(error?.message.contains("upstream unavailable") == true)
            #expect(log.retries == [1, 2])
            #expect(server.requests.count == 3)
        }
    }

    /// Decision: a 2xx body that is not the wire format is not retried. The server answered
    /// deterministically; a retry would spend budget for the same garbage.
    @Test func garbageBodyIsMalformedImmediately() async throws {
        try await TestHTTPServer.with([.json("<html>gateway</html>"), .json(Self.okBody)]) { server in
            let error = await Self.modelError {
                _ = try await Self.model(server).complete(Fixtures.request, observer: nil)
            }
            #expect(error?.kind == .malformed)
            #expect(error?.attempts == 1)
            #expect(server.requests.count == 1)
        }
    }

    @Test func garbageStreamChunkIsMalformed() async throws {
        try await TestHTTPServer.with([.sse("data: {not json\n\n")]) { server in
            let error = await Self.modelError {
                _ = try await Self.model(server, stream: true).complete(Fixtures.request, observer: nil)
            }
            #expect(error?.kind == .malformed)
        }
    }

    @Test func oversizedBodyIsMalformed() async throws {
        let huge = CannedResponse.json(String(repeating: " ", count: 4096) + Self.okBody)
        try await TestHTTPServer.with([huge]) { server in
            let error = await Self.modelError {
                _ = try await Self.model(server, maxBytes: 1024).complete(Fixtures.request, observer: nil)
            }
            #expect(error?.kind == .malformed)
            #expect(error?.message.contains("exceeds") == true)
        }
    }

    @Test func stalledServerTimesOut() async throws {
        var stalled = CannedResponse.sse(Self.okStream)
        stalled.delayBeforeHead = .seconds(3)
        try await TestHTTPServer.with([stalled, stalled]) { server in
            let error = await Self.modelError {
                _ = try await Self.model(server, stream: true,
                                         retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1),
                                                            maxDelay: .milliseconds(1)),
                                         timeout: .milliseconds(200))
                    .complete(Fixtures.request, observer: nil)
            }
            #expect(error?.kind == .transport)
            #expect(error?.attempts == 2)
        }
    }

    @Test func connectionRefusedIsTransport() async throws {
        let server = try await TestHTTPServer.start([])
        let url = server.baseURL
        await server.shutdown()
        // The pool retries a refused connect until its connect timeout; keep that short here.
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                configuration: HTTPClient.Configuration(
                                    timeout: HTTPClient.Configuration.Timeout(connect: .milliseconds(200))))
        let model = OpenAIChatModel(
            spec: ModelSpec(provider: .openai, name: "gpt-test"),
            endpoint: ProviderEndpoint(baseURL: url + "/v1", apiKey: nil, stream: false,
                                       retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1),
                                                          maxDelay: .milliseconds(1)),
                                       client: client))
        let error = await Self.modelError {
            _ = try await model.complete(Fixtures.request, observer: nil)
        }
        try await client.shutdown()
        #expect(error?.kind == .transport)
        #expect(error?.attempts == 2)
    }
}
