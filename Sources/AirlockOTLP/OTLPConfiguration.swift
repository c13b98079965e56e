import Foundation

/// Where and how spans go, from the OpenTelemetry SDK environment variables as the
/// specification defines them: the `_TRACES_` variant of each wins over the general one;
/// a per-signal endpoint is used as is, the base endpoint gets `/v1/traces`.
public struct OTLPConfiguration: Sendable, Equatable {
    public enum WireProtocol: String, Sendable { case protobuf = "http/protobuf", json = "http/json" }

    public var endpoint: String
    public var wireProtocol: WireProtocol = .protobuf
    public var headers: [Header] = []
    public var gzip = false
    /// Per request (OTEL_EXPORTER_OTLP_TIMEOUT, milliseconds; default 10 s).
    public var timeout: Duration = .seconds(10)
    /// The resource: `service.name` (OTEL_SERVICE_NAME, else from OTEL_RESOURCE_ATTRIBUTES,
    /// else `airlock`) and the rest of OTEL_RESOURCE_ATTRIBUTES.
    public var resource: [String: String] = ["service.name": "airlock"]

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(endpoint: String) { self.endpoint = endpoint }

    /// nil when no endpoint is set or OTEL_SDK_DISABLED is true (export is off); throws
    /// for a setting it cannot honour (`grpc`, an unknown compression), naming the fix.
    public init?(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            for key in ["OTEL_EXPORTER_OTLP_TRACES_\(name)", "OTEL_EXPORTER_OTLP_\(name)"] {
                if let text = environment[key]?.trimmingCharacters(in: .whitespaces), !text.isEmpty { return text }
            }
            return nil
        }
        if environment["OTEL_SDK_DISABLED"]?.trimmingCharacters(in: .whitespaces).lowercased() == "true" { return nil }
        if let traces = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]?.trimmingCharacters(in: .whitespaces),
           !traces.isEmpty {
            endpoint = traces
        } else if let base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"]?.trimmingCharacters(in: .whitespaces),
                  !base.isEmpty {
            endpoint = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/traces"
        } else {
            return nil
        }
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw OTLPError("the OTLP endpoint \(endpoint) is not an http:// or https:// URL")
        }
        if let text = value("PROTOCOL") {
            guard let parsed = WireProtocol(rawValue: text) else {
                throw OTLPError("OTEL_EXPORTER_OTLP_PROTOCOL=\(text) is not supported: use http/protobuf (the default) or http/json")
            }
            wireProtocol = parsed
        }
        if let text = value("COMPRESSION") {
            switch text.lowercased() {
            case "gzip": gzip = true
            case "none": gzip = false
            default: throw OTLPError("OTEL_EXPORTER_OTLP_COMPRESSION=\(text) is not supported: use gzip or none")
            }
        }
        if let text = value("TIMEOUT") {
            guard let millis = Int(text), millis > 0 else {
                throw OTLPError("OTEL_EXPORTER_OTLP_TIMEOUT=\(text) is not a positive number of milliseconds")
            }
            timeout = .milliseconds(millis)
        }
        headers = Self.pairs(value("HEADERS") ?? "").map { Header(name: $0.0, value: $0.1) }
        resource = Dictionary(Self.pairs(environment["OTEL_RESOURCE_ATTRIBUTES"] ?? ""), uniquingKeysWith: { $1 })
        if let name = environment["OTEL_SERVICE_NAME"]?.trimmingCharacters(in: .whitespaces), !name.isEmpty {
            resource["service.name"] = name
        } else if resource["service.name"] == nil {
            resource["service.name"] = "airlock"
        }
    }

    /// The W3C Baggage-like list the spec uses for headers and resource attributes:
    /// `k=v,k2=v2`, values percent-decoded, blanks trimmed, malformed members skipped.
    static func pairs(_ text: String) -> [(String, String)] {
        text.split(separator: ",").compactMap { member in
            let parts = member.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let key = String(parts[0]).trimmingCharacters(in: .whitespaces)
            let raw = String(parts[1]).trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { return nil }
            return (key, raw.removingPercentEncoding ?? raw)
        }
    }

    public var contentType: String {
        wireProtocol == .protobuf ? "application/x-protobuf" : "application/json"
    }
}

/// A telemetry setting or export that cannot go ahead; the message names the fix.
public struct OTLPError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
