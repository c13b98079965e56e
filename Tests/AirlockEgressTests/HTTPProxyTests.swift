import Foundation
import Testing
@testable import AirlockEgress

@Suite struct HTTPProxyTests {
    @Test func allowedHostIsReachedWithStreamedBody() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]])
        try await withProxy(config) { proxy, port in
            proxy.setTag("call-1")
            let body = String(repeating: "b", count: 200_000)
            let answer = try await exchange(port, "POST http://API.test:\(server.port)/upload?x=1 HTTP/1.1\r\n"
                + "Host: api.test:\(server.port)\r\nProxy-Authorization: Basic Zm9v\r\nProxy-Connection: keep-alive\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            #expect(answer.statusLine == "HTTP/1.1 200 OK")
            #expect(answer.contains("POST /upload?x=1\n"), "forwarded in origin-form")
            #expect(answer.contains("body-bytes: 200000"))
            #expect(answer.contains("connection: close"))
            #expect(!answer.lowercased().contains("proxy-"), "Proxy-* headers are stripped")
            let record = try #require(try await records(proxy).first)
            #expect(record.allowed && record.reason == nil)
            #expect(record.host == "api.test" && record.port == server.port)
            #expect(record.method == "POST" && record.path == "/upload?x=1" && record.scheme == "http")
            #expect(record.bytesUp > 200_000 && record.bytesDown > 0)
            #expect(record.tag == "call-1")
            #expect(proxy.bytesUsed == record.bytesUp + record.bytesDown)
        }
    }

    @Test func unlistedHostIsRefusedAndRecorded() async throws {
        try await withProxy(EgressConfiguration(allow: try rules("api.test"))) { proxy, port in
            let answer = try await exchange(port, "GET http://evil.test/steal HTTP/1.1\r\nHost: evil.test\r\n\r\n")
            #expect(answer.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(answer.contains("not in the egress allow-list: evil.test:80"))
            let record = try #require(try await records(proxy).first)
            #expect(!record.allowed && record.host == "evil.test" && record.port == 80)
            #expect(record.method == "GET" && record.path == "/steal")
            #expect(record.reason?.contains("allow-list") == true)
        }
    }

    @Test func hostHeaderMustMatchTheURI() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]])
        try await withProxy(config) { proxy, port in
            let answer = try await exchange(port, "GET http://api.test:\(server.port)/ HTTP/1.1\r\nHost: evil.test\r\n\r\n")
            #expect(answer.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(answer.contains("Host header evil.test differs"))
            let record = try #require(try await records(proxy).first)
            #expect(!record.allowed)
        }
    }

    @Test func nonProxyRequestsAreRefused() async throws {
        try await withProxy(EgressConfiguration(allow: try rules("api.test"))) { proxy, port in
            let origin = try await exchange(port, "GET /index.html HTTP/1.1\r\nHost: api.test\r\n\r\n")
            #expect(origin.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(origin.contains("not a proxy request"))
            let https = try await exchange(port, "GET https://api.test/ HTTP/1.1\r\nHost: api.test\r\n\r\n")
            #expect(https.contains("only http:// URIs"))
            let userinfo = try await exchange(port, "GET http://api.test@evil.test/ HTTP/1.1\r\n\r\n")
            #expect(userinfo.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(try await records(proxy, count: 3).allSatisfy { !$0.allowed })
        }
    }

    @Test func ipLiteralsAreRefusedUnlessListed() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        try await withProxy(EgressConfiguration(allow: try rules("api.test"))) { proxy, port in
            let answer = try await exchange(port, "GET http://127.0.0.1:\(server.port)/ HTTP/1.1\r\n\r\n")
            #expect(answer.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(answer.contains("IP literal not in the egress allow-list"))
            let v6 = try await exchange(port, "GET http://[::1]:\(server.port)/ HTTP/1.1\r\n\r\n")
            #expect(v6.contains("IP literal not in the egress allow-list: [::1]"))
        }
        try await withProxy(EgressConfiguration(allow: try rules("127.0.0.1:\(server.port)"))) { proxy, port in
            let answer = try await exchange(port, "GET http://127.0.0.1:\(server.port)/ok HTTP/1.1\r\n\r\n")
            #expect(answer.statusLine == "HTTP/1.1 200 OK", "a listed literal may even be loopback")
            #expect(answer.contains("host: 127.0.0.1:\(server.port)"))
        }
    }

    @Test func ipv6LiteralIsReachedOnlyWhenListed() async throws {
        guard let server = try? await TestServer(host: "::1") else { return }  // no IPv6 loopback here
        defer { Task { await server.stop() } }
        try await withProxy(EgressConfiguration(allow: try rules("[::1]:\(server.port)"))) { proxy, port in
            let answer = try await exchange(port, "GET http://[::1]:\(server.port)/six HTTP/1.1\r\nHost: [::1]:\(server.port)\r\n\r\n")
            #expect(answer.statusLine == "HTTP/1.1 200 OK")
            #expect(try await records(proxy).first?.host == "::1")
        }
    }

    @Test func namesResolvingToLoopbackAreRefused() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let request = "GET http://localhost:\(server.port)/ HTTP/1.1\r\nHost: localhost:\(server.port)\r\n\r\n"
        try await withProxy(EgressConfiguration(allow: try rules("localhost:\(server.port)"))) { proxy, port in
            let answer = try await exchange(port, request)
            #expect(answer.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(answer.contains("resolves to a loopback address"))
        }
        let permissive = EgressConfiguration(allow: try rules("localhost:\(server.port)"), allowPrivate: true)
        try await withProxy(permissive) { proxy, port in
            let answer = try await exchange(port, request)
            // localhost may resolve to ::1 first; the server listens on 127.0.0.1 only.
            #expect(answer.statusLine == "HTTP/1.1 200 OK" || answer.statusLine == "HTTP/1.1 502 Bad Gateway")
            #expect(try await records(proxy).first?.allowed == true)
        }
    }

    @Test func unixSocketListener() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let path = "/tmp/airlock-egress-test-\(server.port).sock"
        let proxy = try EgressProxy(configuration: EgressConfiguration(
            allow: try rules("api.test:\(server.port)"), resolve: ["api.test": ["127.0.0.1"]]))
        try await proxy.start(unixSocketPath: path)
        try await proxy.start(unixSocketPath: path + "2")
        let client = try await TestClient(.unix(path))
        try await client.send("GET http://api.test:\(server.port)/unix HTTP/1.1\r\nHost: api.test:\(server.port)\r\n\r\n")
        #expect(try await client.readAll().contains("GET /unix"))
        await proxy.shutdown()
        unlink(path)
        unlink(path + "2")
    }

    @Test func budgetCutsActiveConnectionsAndRefusesNewOnes() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let config = EgressConfiguration(allow: try rules("api.test:\(server.port)"),
                                         resolve: ["api.test": ["127.0.0.1"]], maxBytes: 100_000)
        try await withProxy(config) { proxy, port in
            let big = try await exchange(port, "GET http://api.test:\(server.port)/big?n=2000000 HTTP/1.1\r\n\r\n")
            #expect(big.utf8.count < 200_000, "the download was cut")
            #expect(proxy.budgetExhausted)
            let next = try await exchange(port, "GET http://api.test:\(server.port)/ HTTP/1.1\r\n\r\n")
            #expect(next.statusLine == "HTTP/1.1 403 Forbidden")
            #expect(next.contains("egress budget exhausted"))
            let all = try await records(proxy, count: 2)
            #expect(all.count == 2)
            #expect(all.allSatisfy { $0.reason == "egress budget exhausted" })
            #expect(all.first?.allowed == true && all.last?.allowed == false)
        }
    }
}
