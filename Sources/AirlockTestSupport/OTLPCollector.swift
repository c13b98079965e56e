import AirlockOTLP
import CompressNIO
import Foundation
import NIOCore
import SwiftProtobuf

/// A span as a collector received it, whichever encoding carried it.
public struct CollectedSpan: Sendable, Hashable {
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var name: String
    public var kind: Int
    /// Attribute values as text (ints and doubles in decimal, bools as true/false).
    public var attributes: [String: String]
}

/// An OTLP/HTTP collector for tests: a TestHTTPServer with canned answers whose requests
/// are decoded here as a real collector would (protobuf or JSON, gzip when the request says
/// so).
public final class OTLPCollector: Sendable {
    public let server: TestHTTPServer
    public var endpoint: String { server.baseURL }

    /// `answers` in order, then 200s (up to `capacity` requests in all).
    public static func start(_ answers: [CannedResponse] = [], capacity: Int = 400) async throws -> OTLPCollector {
        let ok = CannedResponse(status: 200, headers: [("content-type", "application/x-protobuf")])
        let queue = answers + Array(repeating: ok, count: max(0, capacity - answers.count))
        return OTLPCollector(server: try await TestHTTPServer.start(queue))
    }

    private init(server: TestHTTPServer) { self.server = server }

    public func shutdown() async { await server.shutdown() }

    public var requests: [RecordedRequest] { server.requests }

    /// Every span of every request, in arrival order; throws on a body a collector would refuse.
    public func spans() throws -> [CollectedSpan] {
        try requests.flatMap(Self.decode)
    }

    /// The request body, gunzipped when it says so.
    static func body(_ request: RecordedRequest) throws -> [UInt8] {
        guard request.header("content-encoding")?.lowercased() == "gzip" else { return request.body }
        var buffer = ByteBuffer(bytes: request.body)
        return Array(try buffer.decompress(with: .gzip(), maxSize: 64 << 20).readableBytesView)
    }

    public static func decode(_ request: RecordedRequest) throws -> [CollectedSpan] {
        let body = try body(request)
        if request.header("content-type")?.hasPrefix("application/json") == true { return try json(body) }
        let message = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest(serializedBytes: body)
        return message.resourceSpans.flatMap(\.scopeSpans).flatMap(\.spans).map { span in
            CollectedSpan(traceID: hex(span.traceID), spanID: hex(span.spanID),
                          parentSpanID: span.parentSpanID.isEmpty ? nil : hex(span.parentSpanID),
                          name: span.name, kind: span.kind.rawValue,
                          attributes: Dictionary(span.attributes.map { ($0.key, text($0.value)) }, uniquingKeysWith: { $1 }))
        }
    }

    /// The resource attributes of the first request (protobuf or JSON).
    public static func resource(_ request: RecordedRequest) throws -> [String: String] {
        if request.header("content-type")?.hasPrefix("application/json") == true {
            let document = try JSONSerialization.jsonObject(with: Data(try body(request))) as? [String: Any]
            let first = (document?["resourceSpans"] as? [[String: Any]])?.first
            let attributes = (first?["resource"] as? [String: Any])?["attributes"] as? [[String: Any]] ?? []
            return Dictionary(attributes.compactMap { item -> (String, String)? in
                guard let key = item["key"] as? String, let value = item["value"] as? [String: Any] else { return nil }
                return (key, jsonText(value))
            }, uniquingKeysWith: { $1 })
        }
        let message = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest(serializedBytes: try body(request))
        return Dictionary((message.resourceSpans.first?.resource.attributes ?? []).map { ($0.key, text($0.value)) },
                          uniquingKeysWith: { $1 })
    }

    private static func json(_ body: [UInt8]) throws -> [CollectedSpan] {
        guard let document = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return [] }
        let scopes = (document["resourceSpans"] as? [[String: Any]] ?? []).flatMap { $0["scopeSpans"] as? [[String: Any]] ?? [] }
        return scopes.flatMap { $0["spans"] as? [[String: Any]] ?? [] }.map { span in
            let attributes = span["attributes"] as? [[String: Any]] ?? []
            return CollectedSpan(
                traceID: span["traceId"] as? String ?? "", spanID: span["spanId"] as? String ?? "",
                parentSpanID: span["parentSpanId"] as? String, name: span["name"] as? String ?? "",
                kind: span["kind"] as? Int ?? 0,
                attributes: Dictionary(attributes.compactMap { item -> (String, String)? in
                    guard let key = item["key"] as? String, let value = item["value"] as? [String: Any] else { return nil }
                    return (key, jsonText(value))
                }, uniquingKeysWith: { $1 }))
        }
    }

    private static func jsonText(_ value: [String: Any]) -> String {
        if let text = value["stringValue"] as? String { return text }
        if let text = value["intValue"] as? String { return text }
        if let number = value["intValue"] as? Int { return String(number) }
        if let flag = value["boolValue"] as? Bool { return String(flag) }
        if let number = value["doubleValue"] as? Double { return String(number) }
        return ""
    }

    private static func text(_ value: Opentelemetry_Proto_Common_V1_AnyValue) -> String {
        switch value.value {
        case .stringValue(let text)?: text
        case .intValue(let number)?: String(number)
        case .boolValue(let flag)?: String(flag)
        case .doubleValue(let number)?: String(number)
        case .arrayValue(let array)?: array.values.map(text).joined(separator: ",")
        default: ""
        }
    }

    private static func hex(_ data: Data) -> String {
        data.map { String(format: "%02x", $0) }.joined()
    }
}
