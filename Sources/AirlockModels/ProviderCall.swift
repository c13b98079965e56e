import AsyncHTTPClient
import Foundation
import NIOCore

/// One logical model call: a POST whose body is encoded once (so every retry sends the
/// same bytes), run under the endpoint's retry policy and per-attempt timeout.
struct ProviderCall: Sendable {
    var endpoint: ProviderEndpoint
    var url: String
    var headers: [(String, String)]
    var body: Data

    /// Turns a 2xx response into a result; throw `AttemptFailure` to classify a fault.
    typealias Handler<T> = @Sendable (HTTPClientResponse) async throws -> T

    func run<T: Sendable>(observer: ModelObserver?, handle: @escaping Handler<T>) async throws -> T {
        let policy = endpoint.retry
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await withTimeout(endpoint.requestTimeout) {
                    try await self.attempt(handle)
                }
            } catch let failure as AttemptFailure {
                try Task.checkCancellation()
                var error = failure.error
                error.attempts = attempt
                guard failure.retryable, attempt < policy.maxAttempts else { throw error }
                let delay = policy.delay(afterAttempt: attempt, retryAfter: failure.retryAfter)
                observer?(.retrying(attempt: attempt, reason: failure.error.message,
                                    delayMilliseconds: Int(delay.milliseconds)))
                try await Task.sleep(for: delay)
            }
        }
    }

    private func attempt<T: Sendable>(_ handle: Handler<T>) async throws -> T {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await endpoint.client.execute(
                request, timeout: .nanoseconds(Int64(clamping: endpoint.requestTimeout.nanoseconds)))
            guard (200..<300).contains(Int(response.status.code)) else {
                // Error bodies are small; a cap keeps a hostile one from costing memory.
                let body = (try? await Self.collect(response, limit: 1 << 20)) ?? Data()
                throw AttemptFailure.status(Int(response.status.code), body: body,
                                            headers: response.headers.map { ($0.name, $0.value) })
            }
            return try await handle(response)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw AttemptFailure.from(error)
        }
    }

    static func isJSON(_ response: HTTPClientResponse) -> Bool {
        response.headers.first(name: "content-type")?.lowercased().contains("application/json") == true
    }

    /// The whole body, or `.malformed` once it grows past `limit`.
    static func collect(_ response: HTTPClientResponse, limit: Int) async throws -> Data {
        var data = Data()
        for try await chunk in response.body {
            guard data.count + chunk.readableBytes <= limit else {
                throw AttemptFailure.malformed("response body exceeds \(limit) bytes")
            }
            data.append(contentsOf: chunk.readableBytesView)
        }
        return data
    }

    /// Runs the call and reads the turn: a stream through `Accumulator`, or — since some
    /// compatible servers ignore `stream` and answer with one JSON body — a body through `parse`.
    func turn<Accumulator: StreamAccumulator>(
        streaming stream: Bool, observer: ModelObserver?, accumulator: Accumulator.Type, describing what: String,
        parse: @escaping @Sendable (JSONValue) throws -> AssistantTurn
    ) async throws -> AssistantTurn {
        let limit = endpoint.maxResponseBytes
        return try await run(observer: observer) { response in
            if stream && !Self.isJSON(response) {
                var accumulator = Accumulator(observer: observer)
                try await Self.readEvents(response, limit: limit) { event in
                    try accumulator.consume(event)
                }
                return accumulator.turn()
            }
            let body = try await Self.collect(response, limit: limit)
            guard let json = JSONText.decode(body) else {
                throw AttemptFailure.malformed("\(what) is not JSON: " + String(decoding: body.prefix(200), as: UTF8.self))
            }
            return try parse(json)
        }
    }

    /// Feeds the body through an SSE parser; `consume` returns true at the stream's end
    /// marker. A body that ends before the marker was cut off: a retryable transport fault.
    static func readEvents(_ response: HTTPClientResponse, limit: Int,
                           consume: (SSEEvent) throws -> Bool) async throws {
        var parser = SSEParser()
        var received = 0
        for try await chunk in response.body {
            received += chunk.readableBytes
            guard received <= limit else {
                throw AttemptFailure.malformed("response stream exceeds \(limit) bytes")
            }
            for event in parser.feed(chunk.readableBytesView) where try consume(event) {
                return
            }
        }
        for event in parser.finish() where try consume(event) {
            return
        }
        throw AttemptFailure.transport("stream ended before its end marker")
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let parts = components
        return parts.seconds &* 1_000_000_000 &+ parts.attoseconds / 1_000_000_000
    }
}
