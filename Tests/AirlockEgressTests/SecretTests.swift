import Foundation
import Testing
@testable import AirlockEgress

@Suite struct SecretTests {
    let value = "sk-live-REAL-VALUE-0123456789"

    func secret(_ host: String) throws -> EgressSecret {
        EgressSecret(name: "API_KEY", value: value, placeholder: EgressSecret.makePlaceholder(name: "API_KEY"),
                     hosts: try rules(host))
    }

    func expectNoValue(in records: [EgressRecord]) throws {
        let json = String(decoding: try JSONEncoder().encode(records), as: UTF8.self)
        #expect(!json.contains(value))
    }

    @Test func substitutedInHeadersOverPlainHTTPForItsHostOnly() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let key = try secret("api.test:\(server.port)")
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)", "other.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]],
                                         secrets: [key])
        try await withProxy(config) { proxy, port in
            #expect(proxy.certificateAuthorityPEM?.contains("BEGIN CERTIFICATE") == true)
            let own = try await exchange(port, "GET http://api.test:\(server.port)/v1?k=\(key.placeholder) HTTP/1.1\r\n"
                + "Authorization: Bearer \(key.placeholder)\r\n\r\n")
            #expect(own.contains("authorization: Bearer \(value)"))
            #expect(own.contains("GET /v1?k=\(value)"))
            let other = try await exchange(port, "GET http://other.test:\(server.port)/ HTTP/1.1\r\n"
                + "Authorization: Bearer \(key.placeholder)\r\n\r\n")
            #expect(other.contains("authorization: Bearer \(key.placeholder)"))
            #expect(!other.contains(value))
            let all = try await records(proxy, count: 2)
            #expect(all.map(\.secrets) == [["API_KEY"], []])
            #expect(all.first?.path == "/v1?k=\(key.placeholder)")
            try expectNoValue(in: all)
        }
    }

    @Test func substitutedOverInterceptedHTTPS() async throws {
        let upstreamCA = try TestAuthority()
        let server = try await TestServer(tls: try upstreamCA.serverContext(names: ["api.test"]))
        defer { Task { await server.stop() } }
        let key = try secret("api.test:\(server.port)")
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]], secrets: [key],
                                         upstreamTrustRootsPEM: [upstreamCA.pem])
        try await withProxy(config) { proxy, port in
            let proxyCA = try #require(proxy.certificateAuthorityPEM)
            let client = try await TestClient(.tcp(port))
            try await client.send("CONNECT api.test:\(server.port) HTTP/1.1\r\nHost: api.test:\(server.port)\r\n\r\n")
            #expect(try await client.readHead().statusLine == "HTTP/1.1 200 Connection established")
            try await client.startTLS(serverName: "api.test", trustPEM: proxyCA)
            try await client.send("GET /private HTTP/1.1\r\nHost: api.test:\(server.port)\r\n"
                + "X-Api-Key: \(key.placeholder)\r\n\r\n")
            let answer = try await client.readAll()
            #expect(answer.statusLine == "HTTP/1.1 200 OK")
            #expect(answer.contains("x-api-key: \(value)"))
            let record = try #require(try await records(proxy).first)
            #expect(record.allowed && record.scheme == "https-intercepted")
            #expect(record.method == "GET" && record.path == "/private" && record.secrets == ["API_KEY"])
            try expectNoValue(in: [record])
        }
    }

    @Test func interceptedHTTPSRefusesAnUntrustedUpstream() async throws {
        let server = try await TestServer(tls: try TestAuthority().serverContext(names: ["api.test"]))
        defer { Task { await server.stop() } }
        let key = try secret("api.test:\(server.port)")
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]], secrets: [key])
        try await withProxy(config) { proxy, port in
            let client = try await TestClient(.tcp(port))
            try await client.send("CONNECT api.test:\(server.port) HTTP/1.1\r\n\r\n")
            _ = try await client.readHead()
            try await client.startTLS(serverName: "api.test", trustPEM: try #require(proxy.certificateAuthorityPEM))
            try await client.send("GET / HTTP/1.1\r\nHost: api.test:\(server.port)\r\nX-Api-Key: \(key.placeholder)\r\n\r\n")
            let answer = try await client.readAll()
            #expect(answer.statusLine == "HTTP/1.1 502 Bad Gateway", "the secret is not sent to an unverified server")
            try expectNoValue(in: try await records(proxy))
        }
    }
}
