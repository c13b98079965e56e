import AirlockOTLP
import Testing

/// The OTEL_* variables read as the OpenTelemetry specification defines them.
@Suite("OTLP configuration from the environment")
struct OTLPConfigurationTests {
    private func configuration(_ environment: [String: String]) throws -> OTLPConfiguration? {
        try OTLPConfiguration(environment: environment)
    }

    @Test("no endpoint, or OTEL_SDK_DISABLED=true: export is off")
    func off() throws {
        #expect(try configuration([:]) == nil)
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                                   "OTEL_SDK_DISABLED": "TRUE"]) == nil)
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                                   "OTEL_SDK_DISABLED": "false"]) != nil)
    }

    @Test("the base endpoint gets /v1/traces; the traces endpoint is used as is and wins")
    func endpoints() throws {
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/"])?.endpoint
                == "http://127.0.0.1:4318/v1/traces")
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/base"])?.endpoint
                == "http://127.0.0.1:4318/base/v1/traces")
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                                   "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9999/custom"])?.endpoint
                == "http://127.0.0.1:9999/custom")
        #expect(throws: OTLPError.self) { try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"]) }
    }

    @Test("protocol: http/protobuf by default, http/json on request, the traces variant wins, grpc is refused by name")
    func protocols() throws {
        let base = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"]
        #expect(try configuration(base)?.wireProtocol == .protobuf)
        #expect(try configuration(base)?.contentType == "application/x-protobuf")
        #expect(try configuration(base.merging(["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"]) { $1 })?.wireProtocol == .json)
        #expect(try configuration(base.merging(["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                                                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"]) { $1 })?
            .wireProtocol == .protobuf)
        let error = #expect(throws: OTLPError.self) {
            try configuration(base.merging(["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"]) { $1 })
        }
        #expect(error?.description.contains("http/protobuf") == true)
    }

    @Test("headers, compression, timeout, service name and resource attributes")
    func settings() throws {
        let parsed = try #require(try configuration([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20abc , x-team=air=lock,broken",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci,service.name=from-resource,team=a%2Cb",
            "OTEL_SERVICE_NAME": "airlock-fleet",
        ]))
        #expect(parsed.headers == [.init(name: "authorization", value: "Bearer abc"), .init(name: "x-team", value: "air=lock")])
        #expect(parsed.gzip)
        #expect(parsed.timeout == .milliseconds(2500))
        #expect(parsed.resource == ["service.name": "airlock-fleet", "deployment.environment": "ci", "team": "a,b"])
        let fromResource = try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                                              "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-resource"])
        #expect(fromResource?.resource["service.name"] == "from-resource")
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"])?.resource == ["service.name": "airlock"])
        #expect(throws: OTLPError.self) {
            try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"])
        }
        #expect(throws: OTLPError.self) {
            try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"])
        }
    }
}
