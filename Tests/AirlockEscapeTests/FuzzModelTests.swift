@testable import AirlockModels
import Foundation
import Testing

/// Mutational fuzzing of what a hostile or broken model server can send: the SSE parser,
/// the OpenAI and Anthropic stream accumulators, and their non-streamed response parsers.
/// No input may trap; every failure must be an `AttemptFailure` (a value the retry loop
/// classifies), never anything else.
@Suite("Fuzz: model responses")
struct FuzzModelTests {
    @Test("fuzz: the SSE parser gives the same events however the bytes are split")
    func sseParser() async {
        let (events, problems) = await onOwnThread { findings -> Int in
            var fuzzer = Fuzzer(corpus: Fuzzer.corpus("sse"))
            var events = 0
            for _ in 0..<Fuzzer.iterations {
                let input = fuzzer.next()
                var whole = SSEParser()
                let expected = whole.feed(input) + whole.finish()
                var split = SSEParser()
                var got: [SSEEvent] = []
                for chunk in fuzzer.chunks(input) { got += split.feed(chunk) }
                got += split.finish()
                events += got.count
                if got != expected { findings.record("split delivery differs for \(Fuzzer.describe(input))") }
            }
            return events
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(events > 0)
    }

    /// Runs mutated streams through an accumulator; returns (turns, errors).
    static func fuzzStream(seed: UInt64, findings: Findings, consume: (inout Fuzzer, [UInt8]) throws -> Void) -> (Int, Int) {
        var fuzzer = Fuzzer(corpus: Fuzzer.corpus("sse"), seed: seed)
        var turns = 0, errors = 0
        for _ in 0..<Fuzzer.iterations {
            let input = fuzzer.next()
            do {
                try consume(&fuzzer, input)
                turns += 1
            } catch is AttemptFailure {
                errors += 1
            } catch {
                findings.record("not an AttemptFailure: \(error) for \(Fuzzer.describe(input))")
            }
        }
        return (turns, errors)
    }

    /// Mutated streams through one provider's accumulator, split anywhere; a turn must never
    /// hold a tool call without an id.
    static func fuzzAccumulator<A: StreamAccumulator>(_ make: @escaping @Sendable () -> A, seed: UInt64) async
        -> ((Int, Int), [String]) {
        await onOwnThread { findings in
            Self.fuzzStream(seed: seed, findings: findings) { fuzzer, input in
                var parser = SSEParser()
                var accumulator = make()
                var done = false
                for chunk in fuzzer.chunks(input) where !done {
                    for event in parser.feed(chunk) where !done { done = try accumulator.consume(event) }
                }
                for event in parser.finish() where !done { done = try accumulator.consume(event) }
                if accumulator.turn().toolCalls.contains(where: { $0.id.isEmpty }) { findings.record("a tool call without an id") }
            }
        }
    }

    @Test("fuzz: the OpenAI stream accumulator")
    func openAIStream() async {
        let ((turns, errors), problems) = await Self.fuzzAccumulator({ OpenAIStreamAccumulator(observer: nil) }, seed: Fuzzer.seed ^ 1)
        #expect(problems.isEmpty, "\(problems)")
        #expect(turns > 0 && errors > 0, "turns \(turns) errors \(errors)")
    }

    @Test("fuzz: the Anthropic stream accumulator")
    func anthropicStream() async {
        let ((turns, errors), problems) = await Self.fuzzAccumulator({ AnthropicStreamAccumulator(observer: nil) }, seed: Fuzzer.seed ^ 2)
        #expect(problems.isEmpty, "\(problems)")
        #expect(turns > 0 && errors > 0, "turns \(turns) errors \(errors)")
    }

    /// Runs mutated bodies through JSON decoding and a response parser.
    static func fuzzBody(_ corpus: String, seed: UInt64, findings: Findings,
                         parse: (JSONValue) throws -> AssistantTurn) -> (Int, Int, Int) {
        var fuzzer = Fuzzer(corpus: Fuzzer.corpus(corpus), seed: seed)
        var turns = 0, errors = 0, notJSON = 0
        for _ in 0..<Fuzzer.iterations {
            let input = fuzzer.next()
            guard let json = JSONText.decode(Data(input)) else {
                notJSON += 1
                continue
            }
            // What decodes re-encodes and decodes to the same value.
            if JSONText.decode(JSONText.bytes(json)) != json { findings.record("JSON round trip for \(Fuzzer.describe(input))") }
            do {
                _ = try parse(json)
                turns += 1
            } catch is AttemptFailure {
                errors += 1
            } catch {
                findings.record("not an AttemptFailure: \(error) for \(Fuzzer.describe(input))")
            }
        }
        return (turns, errors, notJSON)
    }

    @Test("fuzz: the OpenAI completion parser")
    func openAICompletion() async {
        let (stats, problems) = await onOwnThread { findings in
            Self.fuzzBody("openai", seed: Fuzzer.seed ^ 3, findings: findings) { try OpenAIWire.parseCompletion($0) }
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(stats.0 > 0 && stats.2 > 0, "\(stats)")
    }

    @Test("fuzz: the Anthropic message parser")
    func anthropicMessage() async {
        let (stats, problems) = await onOwnThread { findings in
            Self.fuzzBody("anthropic", seed: Fuzzer.seed ^ 4, findings: findings) { try AnthropicWire.parseMessage($0) }
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(stats.0 > 0 && stats.2 > 0, "\(stats)")
    }
}

/// Findings of the fuzzers, kept as regressions (fixed: counts are clamped and summed
/// without overflow). See docs/fuzzing.md.
@Suite("Fuzz findings")
struct FuzzFindingTests {
    @Test("finding: huge token counts from a hostile server must not trap (AnthropicWire.usage)")
    func hugeAnthropicUsage() throws {
        let json = try #require(JSONText.decode(#"{"type":"message","content":[],"usage":{"input_tokens":9223372036854775807,"cache_read_input_tokens":9223372036854775807,"output_tokens":1}}"#))
        let turn = try AnthropicWire.parseMessage(json)
        #expect(turn.usage?.inputTokens == Usage.maximumCount)
        #expect(turn.usage?.outputTokens == 1)
    }

    @Test("finding: a deeply nested body is an error value, not a stack overflow")
    func deepNesting() {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        // Reaching the next line is the assertion: swift-foundation's decoder caps depth.
        _ = JSONText.decode(deep)
        let object = String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        _ = JSONText.decode(object)
    }
}
