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

    @Test func connectionsBeyondTheCapAreClosedAtOnceAndRecorded() async throws {
        var config = EgressConfiguration(allow: try rules("api.test"))
        config.maxConnections = 2
        try await withProxy(config) { proxy, port in
            var clients: [TestClient] = []
            for _ in 0..<3 { clients.append(try await TestClient(.tcp(port))) }
            var closed = 0
            for client in clients where await client.closedByPeer(within: .milliseconds(500)) { closed += 1 }
            #expect(closed == 1, "exactly the connection past the cap is closed")
            let record = try #require(try await records(proxy).first)
            #expect(!record.allowed && record.reason?.contains("too many open connections") == true, "\(record)")
        }
    }

    @Test func aConnectionThatNeverNamesADestinationIsClosed() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        var config = EgressConfiguration(allow: try rules("api.test:\(server.port)"), resolve: ["api.test": ["127.0.0.1"]])
        // Long enough that a loaded machine sends the CONNECT below in time. (The close of
        // the silent one is awaited 30 s: a loaded event loop may be slow to see it.)
        config.firstRequestTimeout = .seconds(1)
        try await withProxy(config) { _, port in
            let silent = try await TestClient(.tcp(port))
            #expect(await silent.closedByPeer(within: .seconds(30)), "the silent connection was not closed")
            // A tunnel that named its destination in time outlives the deadline, idle.
            let tunnel = try await TestClient(.tcp(port))
            try await tunnel.send("CONNECT api.test:\(server.port) HTTP/1.1\r\n\r\n")
            #expect(try await tunnel.readHead().hasPrefix("HTTP/1.1 200"))
            #expect(!(await tunnel.closedByPeer(within: .milliseconds(1500))), "an admitted tunnel was cut by the first-request deadline")
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
