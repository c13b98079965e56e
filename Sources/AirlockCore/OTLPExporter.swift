import AirlockModels
import AsyncHTTPClient
import Foundation
import NIOCore

/// Sends spans over OTLP/HTTP with the JSON encoding of the OTLP spec (trace and span ids
/// as hex, times as decimal strings), which the OpenTelemetry Collector, Phoenix and
/// Langfuse ingest at `/v1/traces`.
public struct OTLPExporter: Sendable {
    public var endpoint: String
    public var headers: [(String, String)]
    public var serviceName: String = "airlock"

    /// From the standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is), else
    /// OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`; OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`).
    public init?(environment: [String: String]) {
        if let traces = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], !traces.isEmpty {
            endpoint = traces
        } else if let base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !base.isEmpty {
            endpoint = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/traces"
        } else {
            return nil
        }
        headers = (environment["OTEL_EXPORTER_OTLP_HEADERS"] ?? "").split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]).trimmingCharacters(in: .whitespaces),
                    (String(parts[1]).removingPercentEncoding ?? String(parts[1])).trimmingCharacters(in: .whitespaces))
        }
        if let name = environment["OTEL_SERVICE_NAME"], !name.isEmpty { serviceName = name }
    }

    public func export(_ spans: [TraceSpan]) async throws {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: OTLPJSON.document(spans, serviceName: serviceName).canonicalJSON))
        let response = try await HTTPClient.models.execute(request, timeout: .seconds(10))
        guard (200..<300).contains(response.status.code) else {
            throw ModelError(.http, "the OTLP endpoint \(endpoint) answered \(response.status.code)", status: Int(response.status.code))
        }
    }
}

/// The OTLP JSON document for a batch of spans.
public enum OTLPJSON {
    public static func document(_ spans: [TraceSpan], serviceName: String) -> JSONValue {
        .object(["resourceSpans": .array([.object([
            "resource": .object(["attributes": attributes(["service.name": .string(serviceName)])]),
            "scopeSpans": .array([.object([
                "scope": .object(["name": "airlock", "version": "0.1.0"]),
                "spans": .array(spans.map(span)),
            ])]),
        ])])])
    }

    static func span(_ span: TraceSpan) -> JSONValue {
        var object: [String: JSONValue] = [
            "traceId": .string(span.traceID), "spanId": .string(span.spanID), "name": .string(span.name),
            "kind": .int(span.kind.rawValue),
            "startTimeUnixNano": .string(String(span.startNanos)), "endTimeUnixNano": .string(String(span.endNanos)),
            "attributes": attributes(span.attributes),
            "status": .object(["code": .int(span.isError ? 2 : 1)]),
        ]
        if let parent = span.parentSpanID { object["parentSpanId"] = .string(parent) }
        return .object(object)
    }

    static func attributes(_ values: [String: JSONValue]) -> JSONValue {
        .array(values.keys.sorted().map { key in
            .object(["key": .string(key), "value": anyValue(values[key] ?? .null)])
        })
    }

    static func anyValue(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .object(["stringValue": .string(text)])
        case .int(let number): .object(["intValue": .string(String(number))])
        case .double(let number): .object(["doubleValue": .double(number)])
        case .bool(let flag): .object(["boolValue": .bool(flag)])
        case .array(let items): .object(["arrayValue": .object(["values": .array(items.map(anyValue))])])
        case .object, .null: .object(["stringValue": .string(CanonicalJSON.string(value))])
        }
    }
}
