import AirlockTestSupport
import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Synchronization
import Testing
@testable import AirlockSandboxHost

/// Mutational fuzzing of both ends of the guest protocol: the guest's request decoding
/// (LineReader + FrameCodec → RequestFrame), the harness's response decoding
/// (→ ResponseFrame), and a live `GuestConnection` fed mutated frames through a pipe.
/// No input may trap; every failure must be an error value; whatever decodes round-trips.
@Suite("Fuzz: guest protocol frames")
struct FuzzFrameTests {
    @Test("fuzz: corpus frames decode and round-trip")
    func corpusRoundTrips() throws {
        let requests = Fuzzer.corpus("guest-frames")
        let responses = Fuzzer.corpus("harness-frames")
        #expect(requests.count >= 8 && responses.count >= 9)
        let codec = FrameCodec()
        for bytes in requests {
            let frame = try codec.decode(RequestFrame.self, from: bytes.dropLast()).get()
            #expect(try codec.decode(RequestFrame.self, from: codec.encode(frame).dropLast()).get() == frame)
        }
        for bytes in responses {
            let frame = try codec.decode(ResponseFrame.self, from: bytes.dropLast()).get()
            #expect(try codec.decode(ResponseFrame.self, from: codec.encode(frame).dropLast()).get() == frame)
        }
    }

    /// Feeds mutated inputs, cut into random chunks, through a LineReader and the codec.
    static func fuzzDecoding<Frame: Codable & Equatable>(_ type: Frame.Type, corpus name: String, maxLine: Int,
                                                         findings: Findings) -> (decoded: Int, failed: Int, oversized: Int) {
        var fuzzer = Fuzzer(corpus: Fuzzer.corpus(name))
        let codec = FrameCodec()
        var decoded = 0, failed = 0, oversized = 0
        for _ in 0..<Fuzzer.iterations {
            let input = fuzzer.next() + [UInt8(ascii: "\n")]
            var reader = LineReader(maxLineBytes: maxLine)
            for chunk in fuzzer.chunks(input) {
                for item in reader.feed(chunk) {
                    switch item {
                    case .oversized(let size):
                        oversized += 1
                        if size <= maxLine { findings.record("oversized item of \(size) bytes under the cap") }
                    case .line(let line):
                        if line.count > maxLine { findings.record("a line over the cap was delivered") }
                        switch codec.decode(Frame.self, from: line) {
                        case .success(let frame):
                            decoded += 1
                            // Whatever decodes re-encodes to a line that decodes to the same frame.
                            guard let again = try? codec.encode(frame) else {
                                findings.record("a decoded frame does not encode: \(Fuzzer.describe(line))")
                                continue
                            }
                            if again.last != UInt8(ascii: "\n") || again.dropLast().contains(UInt8(ascii: "\n")) {
                                findings.record("an encoded frame is not one line: \(Fuzzer.describe(line))")
                            }
                            if case .success(let back) = codec.decode(Frame.self, from: again.dropLast()) {
                                if back != frame { findings.record("round trip changed \(Fuzzer.describe(line))") }
                            } else {
                                findings.record("round trip failed for \(Fuzzer.describe(line))")
                            }
                        case .failure(let failure):
                            failed += 1
                            if !["malformed_frame", "unknown_type"].contains(failure.error.code) || failure.error.message.isEmpty {
                                findings.record("unexpected failure \(failure) for \(Fuzzer.describe(line))")
                            }
                        }
                    }
                }
            }
            if reader.pendingBytes != 0 { findings.record("bytes left after a final newline") }
        }
        return (decoded, failed, oversized)
    }

    @Test("fuzz: the guest's request-frame decoding")
    func guestRequestDecoding() async {
        let (stats, problems) = await onOwnThread { findings in
            Self.fuzzDecoding(RequestFrame.self, corpus: "guest-frames", maxLine: ProtocolVersion.maxFrameBytes, findings: findings)
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(stats.decoded > 0 && stats.failed > 0, "\(stats)")
    }

    @Test("fuzz: the harness's response-frame decoding")
    func harnessResponseDecoding() async {
        let (stats, problems) = await onOwnThread { findings in
            Self.fuzzDecoding(ResponseFrame.self, corpus: "harness-frames", maxLine: ProtocolVersion.maxFrameBytes * 2, findings: findings)
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(stats.decoded > 0 && stats.failed > 0, "\(stats)")
    }

    @Test("fuzz: a small line cap drops oversized lines whole")
    func smallLineCap() async {
        let (stats, problems) = await onOwnThread { findings in
            Self.fuzzDecoding(RequestFrame.self, corpus: "guest-frames", maxLine: 64, findings: findings)
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(stats.oversized > 0, "\(stats)")
    }

    @Test("fuzz: a live GuestConnection fed mutated frames")
    func liveConnection() async throws {
        signal(SIGPIPE, SIG_IGN)
        var toGuest: [Int32] = [-1, -1], fromGuest: [Int32] = [-1, -1]
        #expect(pipe(&toGuest) == 0 && pipe(&fromGuest) == 0)
        let connection = GuestConnection(input: toGuest[1], output: fromGuest[0])
        // Drain what the harness writes, as a guest would.
        let guestEnd = toGuest[0]
        let drain = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while read(guestEnd, &buffer, buffer.count) > 0 {}
            close(guestEnd)
        }
        drain.start()
        let hello = try FrameCodec().encode(ResponseFrame(id: 0, response: .hello(Hello(pid: 1, workspace: "/workspace"))))
        _ = hello.withUnsafeBytes { write(fromGuest[1], $0.baseAddress, $0.count) }
        #expect(await connection.waitForHello(timeout: .seconds(5)) != nil)

        // Requests in flight while the garbage arrives; some mutated frames will hit their ids.
        let calls = (0..<4).map { _ in connection.send(.exec(ExecRequest(shell: "true"))) }
        var fuzzer = Fuzzer(corpus: Fuzzer.corpus("harness-frames"), seed: Fuzzer.seed ^ 0xC0FFEE)
        for _ in 0..<Fuzzer.iterations {
            let input = fuzzer.next() + [UInt8(ascii: "\n")]
            var offset = 0
            while offset < input.count {
                let written = input[offset...].withUnsafeBytes { write(fromGuest[1], $0.baseAddress, $0.count) }
                guard written > 0 else { break }
                offset += written
            }
        }
        close(fromGuest[1])
        // Every request ends (answered by a mutated frame, or as guest_died at EOF).
        try await withLimit(.seconds(30)) {
            for call in calls {
                var last: Response?
                for await response in call.responses { last = response }
                #expect(last?.isFinal == true)
            }
        }
        // The reader may still be working through the backlog after the calls ended.
        for _ in 0..<3000 where !connection.isClosed { try await Task.sleep(for: .milliseconds(20)) }
        #expect(connection.isClosed)
        #expect(!connection.violations.isEmpty)
        #expect(connection.violations.count <= 100)
        // A call after the end is answered at once.
        let (_, after) = connection.send(.exec(ExecRequest(shell: "true")))
        var final: Response?
        for await response in after { final = response }
        #expect(final == .error(ErrorFrame(code: "guest_died", message: "the sandbox is gone")))
        connection.close()
    }
}
