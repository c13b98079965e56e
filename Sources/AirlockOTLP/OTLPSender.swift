import AirlockCore
import AirlockModels
import AsyncHTTPClient
import CompressNIO
import Foundation
import NIOCore

/// One POST of a batch to the collector, and what to do about its answer. Retrying is the
/// caller's (SpanShipper): this only classifies, as the OTLP/HTTP spec does — 429, 502,
/// 503, 504 and transport failures are worth retrying (after `Retry-After` when given),
/// any other failure is not.
public struct OTLPSender: Sendable {
    public enum Outcome: Sendable, Equatable {
        case sent
        case retry(after: Duration?, reason: String)
        case rejected(String)
    }

    public let configuration: OTLPConfiguration
    private let client: HTTPClient

    public init(configuration: OTLPConfiguration, client: HTTPClient = .otlp) {
        self.configuration = configuration
        self.client = client
    }

    public func send(_ spans: [TraceSpan]) async -> Outcome {
        let body: [UInt8]
        do { body = try OTLPEncoding.body(spans, configuration: configuration) }
        catch { return .rejected("cannot encode the spans: \(error)") }
        return await post(body)
    }

    /// Sends an encoded body (gzip applied here when configured).
    public func post(_ body: [UInt8]) async -> Outcome {
        var request = HTTPClientRequest(url: configuration.endpoint)
        request.method = .POST
        request.headers.add(name: "content-type", value: configuration.contentType)
        request.headers.add(name: "user-agent", value: "airlock-otlp/\(OTLPJSON.scopeVersion)")
        for header in configuration.headers { request.headers.add(name: header.name, value: header.value) }
        var buffer = ByteBuffer(bytes: body)
        if configuration.gzip {
            do {
                buffer = try buffer.compress(with: .gzip())
                request.headers.add(name: "content-encoding", value: "gzip")
            } catch {
                return .rejected("cannot gzip the spans: \(error)")
            }
        }
        request.body = .bytes(buffer)
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(configuration.timeout.nanoseconds))
            // The reply is read (bounded) so the connection can be reused; only its status matters.
            let reply = try? await response.body.collect(upTo: 64 * 1024)
            let code = Int(response.status.code)
            if (200..<300).contains(code) { return .sent }
            let detail = "answered \(code)" + Self.excerpt(reply)
            if [429, 502, 503, 504].contains(code) {
                let headers = response.headers.map { ($0.name, $0.value) }
                return .retry(after: RetryAfter.parse(headers), reason: detail)
            }
            return .rejected(detail)
        } catch {
            return .retry(after: nil, reason: "\(error)")
        }
    }

    private static func excerpt(_ reply: ByteBuffer?) -> String {
        guard let reply, reply.readableBytes > 0 else { return "" }
        let text = String(buffer: reply).prefix(200).filter { !$0.isNewline }
        return text.isEmpty ? "" : ": \(text)"
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let parts = components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }
}

extension OTLPSender {
    /// Sends spans in batches, each retried as `retry` allows; throws at the first batch
    /// that cannot be delivered (for `airlock export --otlp`, where failing loudly is right).
    public func deliver(_ spans: [TraceSpan], batchSize: Int = 256, retry: ExportRetry = ExportRetry()) async throws {
        var start = 0
        while start < spans.count {
            let batch = Array(spans[start..<min(spans.count, start + max(1, batchSize))])
            var attempt = 1
            while true {
                switch await send(batch) {
                case .sent:
                    break
                case .rejected(let reason):
                    throw OTLPError("\(configuration.endpoint) \(reason)")
                case .retry(let after, let reason):
                    guard attempt < retry.attempts else {
                        throw OTLPError("\(configuration.endpoint): \(reason) (after \(attempt) attempts)")
                    }
                    try await Task.sleep(for: retry.delay(after: attempt, retryAfter: after))
                    attempt += 1
                    continue
                }
                break
            }
            start += batch.count
        }
    }
}
