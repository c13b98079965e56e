import AirlockCore
import AirlockModels

/// The OTLP JSON document for a batch of spans.
public enum OTLPJSON {
    static let scopeVersion = "0.1.0"

    public static func document(_ spans: [TraceSpan], resource: [String: String]) -> JSONValue {
        .object(["resourceSpans": .array([.object([
            "resource": .object(["attributes": attributes(resource.mapValues { .string($0) })]),
            "scopeSpans": .array([.object([
                "scope": .object(["name": "airlock", "version": .string(scopeVersion)]),
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
            "status": .object(["code": .int(span.isError ? 2 : 1)]), "flags": .int(1),
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
