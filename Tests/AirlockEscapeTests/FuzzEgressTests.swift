@testable import AirlockEgress
import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// The egress proxy parses what the sandbox sends before anything else looks at it: proxy
/// requests, CONNECT heads and the first flight inside a tunnel (a TLS ClientHello). A crash
/// there would take the harness down, so both the pure parser and a live proxy are fed
/// mutated inputs from `Tests/Fuzz/corpus/egress`.
@Suite("Fuzz: the egress proxy")
struct FuzzEgressTests {
    @Test("fuzz: the first-flight classifier (TLS ClientHello / HTTP / opaque) on mutated input")
    func firstFlight() async {
        let corpus = Fuzzer.corpus("egress")
        #expect(corpus.count >= 6, "the corpus is missing")
        // The real ClientHello is recognised with its SNI before any mutation.
        if let hello = corpus.first(where: { $0.first == 0x16 }) {
            #expect(FirstFlight.classify(hello) == .tlsClientHello(serverName: "api.test"))
        } else {
            Issue.record("no ClientHello in the corpus")
        }
        let (kinds, problems) = await onOwnThread { findings -> Set<String> in
            var fuzzer = Fuzzer(corpus: corpus, seed: Fuzzer.seed ^ 0xE6E5)
            var kinds: Set<String> = []
            for _ in 0..<(Fuzzer.iterations * 5) {
                let input = fuzzer.next()
                let result = FirstFlight.classify(input)
                switch result {
                case .needMore: kinds.insert("needMore")
                case .tlsClientHello: kinds.insert("hello")
                case .malformedTLS: kinds.insert("malformed")
                case .http: kinds.insert("http")
                case .opaque: kinds.insert("opaque")
                }
                // A prefix never claims more than the whole: classifying is stable as bytes arrive.
                if case .tlsClientHello(let name) = result, input.count > 5 {
                    let partial = FirstFlight.classify(Array(input.prefix(input.count / 2)))
                    if !(partial == .needMore || partial == .malformedTLS || partial == .tlsClientHello(serverName: name)) {
                        findings.record("prefix of a ClientHello classified as \(partial)")
                    }
                }
            }
            return kinds
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(kinds.count >= 4, "the mutations reached few outcomes: \(kinds)")
    }

    @Test("fuzz: a live proxy fed mutated requests, heads and ClientHellos stays up and still serves")
    func liveProxy() async throws {
        signal(SIGPIPE, SIG_IGN)
        // Mutated requests that stay valid reach the server too: plenty of answers.
        try await TestHTTPServer.with(Array(repeating: .json(#"{"still":"serving"}"#), count: 5000)) { server in
            // Only the test's own server is allowed; the corpus is pointed at it.
            var configuration = EgressConfiguration(allow: [try EgressRule(parsing: "api.test:\(server.port)")],
                                                    resolve: ["api.test": ["127.0.0.1"]])
            configuration.firstRequestTimeout = .seconds(2)
            // Not the cap under test here: connections the fuzzer dropped may still be
            // draining upstream when the honest request comes.
            configuration.maxConnections = 100_000
            let proxy = try EgressProxy(configuration: configuration)
            let port = try await proxy.start(host: "127.0.0.1", port: 0)
            let corpus = Fuzzer.corpus("egress").map { Self.pointed($0, at: server.port) }
            // Blocking sockets, so on a thread of its own. Each input on its own connection,
            // read briefly, then dropped: nothing waits on an answer, so a hung parser shows
            // as the honest request below failing.
            let ((honest, refused), problems) = await onOwnThread { findings -> (String, String) in
                var fuzzer = Fuzzer(corpus: corpus, seed: Fuzzer.seed ^ 0x9E055)
                for _ in 0..<Fuzzer.iterations {
                    let input = fuzzer.next()
                    let fd = Loopback.connect(port)
                    guard fd >= 0 else {
                        findings.record("the proxy stopped accepting")
                        break
                    }
                    _ = input.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    var buffer = [UInt8](repeating: 0, count: 512)
                    var wait = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    if poll(&wait, 1, 5) > 0 { _ = read(fd, &buffer, buffer.count) }
                    close(fd)
                }
                // Still up, still deciding: an honest request goes through, an unlisted one does not.
                return (Self.exchange(port, "GET http://api.test:\(server.port)/after HTTP/1.1\r\nHost: api.test:\(server.port)\r\n\r\n"),
                        Self.exchange(port, "GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n"))
            }
            #expect(problems.isEmpty, "\(problems)")
            #expect(honest.hasPrefix("HTTP/1.1 200"), "after the fuzzing: \(honest.prefix(200))")
            #expect(refused.hasPrefix("HTTP/1.1 403"), "\(refused.prefix(200))")
            await proxy.shutdown()
        }
    }

    /// The corpus entry with `api.test`, `api.test:80` and `api.test:443` made `api.test:PORT`.
    static func pointed(_ entry: [UInt8], at port: Int) -> [UInt8] {
        var bytes = entry
        for (from, to) in [("api.test:443", "api.test:\(port)"), ("api.test:80", "api.test:\(port)"),
                           ("//api.test/", "//api.test:\(port)/"), ("Host: api.test\r", "Host: api.test:\(port)\r")] {
            let needle = Array(from.utf8), replacement = Array(to.utf8)
            var index = 0
            while index + needle.count <= bytes.count {
                if Array(bytes[index..<(index + needle.count)]) == needle {
                    bytes.replaceSubrange(index..<(index + needle.count), with: replacement)
                    index += replacement.count
                } else {
                    index += 1
                }
            }
        }
        return bytes
    }

    /// One request on a fresh connection; the answer until the proxy closes (20 s at most: a
    /// hang guard for a loaded machine, not a timing claim).
    static func exchange(_ port: Int, _ request: String) -> String {
        let fd = Loopback.connect(port)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        _ = Array(request.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < end {
            var wait = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&wait, 1, 100) >= 0 else { break }
            if wait.revents == 0 { continue }
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
