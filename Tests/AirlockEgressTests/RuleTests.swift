import Testing
@testable import AirlockEgress

@Suite struct RuleTests {
    @Test func exactNamesIgnoreCaseAndTrailingDot() throws {
        let rule = try EgressRule(parsing: "Example.COM.")
        #expect(rule.matches(host: "example.com", port: 443))
        #expect(rule.matches(host: "EXAMPLE.com.", port: 80))
        #expect(!rule.matches(host: "example.com", port: 8080), "no port means 80 and 443 only")
        #expect(!rule.matches(host: "www.example.com", port: 443))
        #expect(!rule.matches(host: "example.com.evil.test", port: 443))
    }

    @Test func wildcardsMatchSubdomainsOnly() throws {
        let rule = try EgressRule(parsing: "*.example.com:8443")
        #expect(rule.matches(host: "api.example.com", port: 8443))
        #expect(rule.matches(host: "a.b.example.com", port: 8443))
        #expect(!rule.matches(host: "example.com", port: 8443))
        #expect(!rule.matches(host: "api.example.com", port: 443))
        #expect(!rule.matches(host: "evilexample.com", port: 8443))
    }

    @Test func coverageOfOneEntryByAnAllowList() throws {
        let allow = try rules("api.example.com", "*.internal.test:8443", "[::1]:9000", "plain.test:80")
        #expect(try EgressRule(parsing: "api.example.com").isCovered(by: allow))
        #expect(try EgressRule(parsing: "API.example.com.:443").isCovered(by: allow))
        #expect(try EgressRule(parsing: "x.internal.test:8443").isCovered(by: allow))
        #expect(try EgressRule(parsing: "*.a.internal.test:8443").isCovered(by: allow))
        #expect(try EgressRule(parsing: "[::1]:9000").isCovered(by: allow))
        #expect(!(try EgressRule(parsing: "api.example.com:8080").isCovered(by: allow)), "another port")
        #expect(!(try EgressRule(parsing: "internal.test:8443").isCovered(by: allow)), "the wildcard's own name")
        #expect(!(try EgressRule(parsing: "plain.test").isCovered(by: allow)), "80 and 443, but only 80 is allowed")
        #expect(!(try EgressRule(parsing: "*.example.com").isCovered(by: allow)), "a wildcard wider than a name")
    }

    @Test func ipLiterals() throws {
        let v4 = try EgressRule(parsing: "127.0.0.1:8080")
        #expect(v4.matches(host: "127.0.0.1", port: 8080))
        #expect(!v4.matches(host: "127.0.0.2", port: 8080))
        let v6 = try EgressRule(parsing: "[::1]:443")
        #expect(v6.matches(host: "::1", port: 443))
        #expect(v6.matches(host: "[0:0::1]", port: 443))
        #expect(!v6.matches(host: "::2", port: 443))
        #expect(try EgressRule(parsing: "[2001:db8::1]").matches(host: "2001:db8::1", port: 80))
        #expect(!(try EgressRule(parsing: "localhost")).matches(host: "127.0.0.1", port: 80))
    }

    @Test(arguments: ["", "*", "*.", "foo.*.com", "*foo.com", "example.com:0", "example.com:65536",
                      "example.com:http", "::1", "[::1", "[nothost]:80", "http://example.com",
                      "example.com/path", "user@example.com", "exa mple.com", "1.2.3", "999.1.1.1",
                      "[fe80::1%eth0]:80"])
    func invalidEntriesThrow(_ text: String) {
        #expect(throws: EgressError.self) { try EgressRule(parsing: text) }
    }

    @Test func descriptionRoundTrips() throws {
        for text in ["example.com", "*.example.com:8443", "10.0.0.1:22", "[::1]:443"] {
            #expect(try EgressRule(parsing: text).description == text)
        }
    }

    @Test func addressClassification() throws {
        func reason(_ text: String) -> String? { EgressAddress(parsing: text)?.nonPublicReason }
        #expect(reason("93.184.216.34") == nil)
        #expect(reason("2606:2800:220:1::1") == nil)
        #expect(reason("127.0.0.1") == "loopback")
        #expect(reason("10.1.2.3") == "private")
        #expect(reason("172.31.0.1") == "private")
        #expect(reason("172.32.0.1") == nil)
        #expect(reason("192.168.1.1") == "private")
        #expect(reason("169.254.169.254") == "link-local")
        #expect(reason("100.64.0.1") == "shared (CGNAT)")
        #expect(reason("0.0.0.0") == "unspecified")
        #expect(reason("224.0.0.1") == "multicast")
        #expect(reason("::1") == "loopback")
        #expect(reason("::") == "unspecified")
        #expect(reason("fe80::1") == "link-local")
        #expect(reason("fd00::1") == "private (unique local)")
        #expect(reason("ff02::1") == "multicast")
        #expect(reason("::ffff:127.0.0.1") == "IPv4-mapped loopback")
        #expect(reason("::ffff:10.0.0.1") == "IPv4-mapped private")
        #expect(reason("::ffff:93.184.216.34") == nil)
        #expect(EgressAddress(parsing: "2130706433") == nil, "only dotted quads are addresses")
    }

    @Test func placeholdersAreRandom() {
        let first = EgressSecret.makePlaceholder(name: "API_KEY")
        #expect(first.hasPrefix("airlock-secret-API_KEY-"))
        #expect(first.count == "airlock-secret-API_KEY-".count + 32)
        #expect(first != EgressSecret.makePlaceholder(name: "API_KEY"))
    }

    @Test func clientHelloParsing() {
        #expect(FirstFlight.classify(Array("GET / HTTP/1.1\r\n".utf8)) == .http)
        #expect(FirstFlight.classify(Array("CONN".utf8)) == .needMore)
        #expect(FirstFlight.classify([0x00, 0x01]) == .opaque)
        #expect(FirstFlight.classify([0x16, 0x03, 0x01]) == .needMore)
        #expect(FirstFlight.classify([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0]) == .malformedTLS)
    }
}
