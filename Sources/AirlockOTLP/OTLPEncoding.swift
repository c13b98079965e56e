import AirlockCore
import AirlockModels
import Foundation
import SwiftProtobuf

/// A batch of spans as an OTLP export request body, in the configured encoding: protobuf
/// through swift-protobuf's generated messages, or OTLP/JSON (hex ids, as the spec asks).
public enum OTLPEncoding {
    public static func body(_ spans: [TraceSpan], configuration: OTLPConfiguration) throws -> [UInt8] {
        switch configuration.wireProtocol {
        case .protobuf: try protobuf(spans, resource: configuration.resource)
        case .json: Array(OTLPJSON.document(spans, resource: configuration.resource).canonicalJSON.utf8)
        }
    }

    public static func protobuf(_ spans: [TraceSpan], resource: [String: String]) throws -> [UInt8] {
        try request(spans, resource: resource).serializedBytes()
    }

    public static func request(_ spans: [TraceSpan], resource: [String: String])
        -> Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest {
        var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scope.scope.name = "airlock"
        scope.scope.version = OTLPJSON.scopeVersion
        scope.spans = spans.map(span)
        var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resourceSpans.resource.attributes = resource.keys.sorted().map { key in
            keyValue(key, .string(resource[key] ?? ""))
        }
        resourceSpans.scopeSpans = [scope]
        var request = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest()
        request.resourceSpans = [resourceSpans]
        return request
    }

    static func span(_ span: TraceSpan) -> Opentelemetry_Proto_Trace_V1_Span {
        var out = Opentelemetry_Proto_Trace_V1_Span()
        out.traceID = bytes(hex: span.traceID)
        out.spanID = bytes(hex: span.spanID)
        if let parent = span.parentSpanID { out.parentSpanID = bytes(hex: parent) }
        out.name = span.name
        out.kind = Opentelemetry_Proto_Trace_V1_Span.SpanKind(rawValue: span.kind.rawValue) ?? .internal
        out.startTimeUnixNano = span.startNanos
        out.endTimeUnixNano = span.endNanos
        out.attributes = span.attributes.keys.sorted().map { keyValue($0, span.attributes[$0] ?? .null) }
        out.status.code = span.isError ? .error : .ok
        // W3C trace flags: sampled.
        out.flags = 1
        return out
    }

    static func keyValue(_ key: String, _ value: JSONValue) -> Opentelemetry_Proto_Common_V1_KeyValue {
        var pair = Opentelemetry_Proto_Common_V1_KeyValue()
        pair.key = key
        pair.value = anyValue(value)
        return pair
    }

    static func anyValue(_ value: JSONValue) -> Opentelemetry_Proto_Common_V1_AnyValue {
        var out = Opentelemetry_Proto_Common_V1_AnyValue()
        switch value {
        case .string(let text): out.stringValue = text
        case .int(let number): out.intValue = Int64(number)
        case .double(let number): out.doubleValue = number
        case .bool(let flag): out.boolValue = flag
        case .array(let items):
            var array = Opentelemetry_Proto_Common_V1_ArrayValue()
            array.values = items.map(anyValue)
            out.arrayValue = array
        case .object, .null: out.stringValue = CanonicalJSON.string(value)
        }
        return out
    }

    /// Hex ids (as TraceSpan keeps them) to the raw bytes protobuf carries.
    static func bytes(hex: String) -> Data {
        var data = Data(capacity: hex.utf8.count / 2)
        var high: UInt8?
        for char in hex.utf8 {
            let nibble: UInt8
            switch char {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = char - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = char - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = char - UInt8(ascii: "A") + 10
            default: continue
            }
            if let first = high { data.append(first << 4 | nibble); high = nil } else { high = nibble }
        }
        return data
    }
}
