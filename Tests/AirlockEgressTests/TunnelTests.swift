import Testing
@testable import AirlockEgress

@Suite struct TunnelTests {
    @Test func connectToUnlistedHostIsRefused() async throws {
        try await withProxy(EgressConfiguration(allow: try rules("api.test"))) { proxy, port in
            let answer = try await exchange(port, "CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n")
            #expect(answer.statusLine == "HTTP/1.1 403 Forbidden")
            let record = try #require(try await records(proxy).first)
            #expect(!record.allowed && record.method == "CONNECT" && record.host == "evil.test" && record.port == 443)
            #expect(record.path == nil)
        }
    }

    @Test func relayedConnectThroughAnAllowedHostIsRefused() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]])
        try await withProxy(config) { proxy, port in
            let client = try await TestClient(.tcp(port))
            try await client.send("CONNECT api.test:\(server.port) HTTP/1.1\r\nHost: api.test:\(server.port)\r\n\r\n")
            #expect(try await client.readHead().statusLine == "HTTP/1.1 200 Connection established")
            try await client.send("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n")
            let answer = try await client.readAll()
            #expect(answer.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(answer.contains("relayed CONNECT"))
            let record = try #require(try await records(proxy).first)
            #expect(!record.allowed && record.method == "CONNECT")
        }
    }

    @Test func plaintextInTunnelMustNameTheConnectTarget() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]])
        try await withProxy(config) { proxy, port in
            let bad = try await TestClient(.tcp(port))
            try await bad.send("CONNECT api.test:\(server.port) HTTP/1.1\r\n\r\n")
            _ = try await bad.readHead()
            try await bad.send("GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n")
            let refused = try await bad.readAll()
            #expect(refused.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(refused.contains("Host header evil.test differs"))

            let good = try await TestClient(.tcp(port))
            try await good.send("CONNECT api.test:\(server.port) HTTP/1.1\r\n\r\n")
            _ = try await good.readHead()
            try await good.send("GET /inside HTTP/1.1\r\nHost: api.test:\(server.port)\r\n\r\n")
            let answer = try await good.readAll()
            #expect(answer.statusLine == "HTTP/1.1 200 OK")
            #expect(answer.contains("GET /inside"))
            let all = try await records(proxy, count: 2)
            #expect(all.map(\.allowed) == [false, true])
            #expect(all.last?.path == "/inside" && all.last?.scheme == "http")
        }
    }

    @Test func tlsTunnelPassesWhenSNIMatches() async throws {
        let authority = try TestAuthority()
        let server = try await TestServer(tls: try authority.serverContext(names: ["api.test"]))
        defer { Task { await server.stop() } }
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]])
        try await withProxy(config) { proxy, port in
            let client = try await TestClient(.tcp(port))
            try await client.send("CONNECT api.test:\(server.port) HTTP/1.1\r\n\r\n")
            _ = try await client.readHead()
            try await client.startTLS(serverName: "api.test", trustPEM: authority.pem)
            try await client.send("GET /secure HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n")
            let answer = try await client.readAll()
            #expect(answer.contains("GET /secure"))
            let record = try #require(try await records(proxy).first)
            #expect(record.allowed && record.scheme == "tunnel" && record.path == nil && record.bytesDown > 0)
        }
    }

    @Test func sniDifferentFromConnectTargetIsRefused() async throws {
        let authority = try TestAuthority()
        let server = try await TestServer(tls: try authority.serverContext(names: ["api.test", "evil.test"]))
        defer { Task { await server.stop() } }
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]])
        try await withProxy(config) { proxy, port in
            for serverName in ["evil.test", nil] as [String?] {
                let client = try await TestClient(.tcp(port))
                try await client.send("CONNECT api.test:\(server.port) HTTP/1.1\r\n\r\n")
                _ = try await client.readHead()
                try? await client.startTLS(serverName: serverName, trustPEM: authority.pem)
                try? await client.send("GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n")
                #expect(try await client.readAll().isEmpty, "the proxy closes without forwarding")
            }
            let all = try await records(proxy, count: 2)
            #expect(all.count == 2 && all.allSatisfy { !$0.allowed })
            #expect(all.first?.reason == "TLS SNI evil.test differs from CONNECT target api.test")
            #expect(all.last?.reason?.contains("without SNI") == true)
        }
    }
}
