import Testing
@testable import AirlockEgress

@Suite struct LifecycleTests {
    @Test func shutdownFinishesRecordsOfOpenConnections() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let proxy = try EgressProxy(configuration: EgressConfiguration(
            allow: try rules("api.test:\(server.port)"), resolve: ["api.test": ["127.0.0.1"]]))
        #expect(proxy.certificateAuthorityPEM == nil, "no secrets, no CA")
        let port = try await proxy.start(host: "127.0.0.1", port: 0)
        let client = try await TestClient(.tcp(port))
        try await client.send("CONNECT api.test:\(server.port) HTTP/1.1\r\n\r\n")
        _ = try await client.readHead()
        await proxy.shutdown()
        let record = try #require(try await records(proxy).first)
        #expect(record.allowed && record.method == "CONNECT" && record.reason == "proxy shut down")
    }

    @Test func pipelinedSecondRequestIsNotForwarded() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]])
        try await withProxy(config) { proxy, port in
            let answer = try await exchange(port, "GET http://api.test:\(server.port)/one HTTP/1.1\r\n\r\n"
                + "GET http://evil.test/two HTTP/1.1\r\n\r\n")
            #expect(answer.contains("GET /one") && !answer.contains("/two"))
            #expect(try await records(proxy).map(\.path) == ["/one"])
        }
    }

    @Test func invalidConfigurationThrows() throws {
        #expect(throws: EgressError.self) {
            try EgressProxy(configuration: EgressConfiguration(allow: [], resolve: ["api.test": ["not-an-ip"]]))
        }
        #expect(throws: EgressError.self) {
            try EgressProxy(configuration: EgressConfiguration(allow: [], secrets: [
                EgressSecret(name: "K", value: "v", placeholder: "short", hosts: try rules("api.test"))]))
        }
    }
}
