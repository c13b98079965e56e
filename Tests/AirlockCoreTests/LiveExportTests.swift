import AirlockModels
import AirlockOTLP
import AirlockTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import AirlockCore

/// Warnings a logger received, for counting them.
final class CapturedLog: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(box: self) }
    }

    struct Handler: LogHandler {
        let box: CapturedLog
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            box.lines.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }

    var warnings: [String] { lines.withLock { $0.filter { $0.hasPrefix("warning") } } }
}

/// The live exporter against in-test collectors: every span once, resumable from its
/// watermark, bounded retries, one warning.
@Suite("live span export", .timeLimit(.minutes(1)))
struct LiveExportTests {
    private func recordedRun() async throws -> (LoopFixture, LoopRun) {
        let fixture = try LoopFixture()
        let model = try Script.model([
            Script.shell("echo one > a.txt", usage: (100, 10)),
            Script.shell("echo two > b.txt", usage: (50, 7)),
            Script.submit("done", usage: (120, 5)),
        ])
        return (fixture, try await fixture.run(model))
    }

    /// Waits (bounded) until the exporter has answered `count` spans, sent or dropped:
    /// `finish` right away would mean "the run is over, no more backoff".
    private func settle(_ exporter: LiveTraceExporter, _ count: Int, limit: Duration = .seconds(20)) async {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            let stats = await exporter.currentStats
            if stats.sent + stats.dropped >= count { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func configuration(_ endpoint: String, _ extra: [String: String] = [:]) throws -> OTLPConfiguration {
        try #require(try OTLPConfiguration(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": endpoint].merging(extra) { $1 }))
    }

    @Test("protobuf round trip: the collector decodes what LedgerSpans built, ids and parents intact")
    func protobufRoundTrip() async throws {
        let (fixture, run) = try await recordedRun()
        defer { fixture.remove() }
        let spans = LedgerSpans.build(try await run.store.ledgerEntries(run: run.result.runID))
        let collector = try await OTLPCollector.start()
        defer { Task { await collector.shutdown() } }
        try await OTLPSender(configuration: try configuration(collector.endpoint)).deliver(spans)
        let request = try #require(collector.requests.first)
        #expect(request.uri == "/v1/traces")
        #expect(request.header("content-type") == "application/x-protobuf")
        let decoded = try collector.spans()
        #expect(decoded.count == spans.count)
        for span in spans {
            let got = try #require(decoded.first { $0.spanID == span.spanID }, "\(span.name) missing")
            #expect(got.traceID == span.traceID && got.parentSpanID == span.parentSpanID && got.name == span.name)
            #expect(got.kind == span.kind.rawValue)
        }
        let chats = decoded.filter { $0.name == "chat inline.json" }
        #expect(chats.compactMap { Int($0.attributes["gen_ai.usage.input_tokens"] ?? "") }.reduce(0, +) == 270)
        #expect(chats.compactMap { Int($0.attributes["llm.token_count.total"] ?? "") }.reduce(0, +) == 292)
        #expect(try OTLPCollector.resource(request)["service.name"] == "airlock")
    }

    @Test("spans built entry by entry are the spans built from the whole ledger")
    func incrementalMatchesWhole() async throws {
        let (fixture, run) = try await recordedRun()
        defer { fixture.remove() }
        let entries = try await run.store.ledgerEntries(run: run.result.runID)
        var assembler = SpanAssembler(run: run.result.runID)
        var live: [TraceSpan] = []
        for entry in entries { live += assembler.add(entry) }
        #expect(Set(live) == Set(LedgerSpans.build(entries)))
        #expect(live.last?.parentSpanID == nil, "the root ends last, at run_finished")
    }

    @Test("an approval wait is a span under its tool call; the call carries the policy decision")
    func approvalAndPolicy() throws {
        func entry(_ seq: Int, _ kind: LedgerKind, _ payload: String) -> LedgerEntry {
            LedgerEntry(run: "r-approve", seq: seq, time: "2026-11-29T16:00:0\(seq).000Z", kind: kind, payloadJSON: payload,
                        prevHash: "", hash: "")
        }
        let spans = LedgerSpans.build([
            entry(1, .runStarted, #"{"model":"script:x.json","task":"t"}"#),
            entry(2, .toolCallValidated, #"{"call":"c1","name":"shell"}"#),
            entry(3, .policyDecision, #"{"call":"c1","decision":"ask","rule":"ask-shell","reason":"r"}"#),
            entry(4, .approvalRequested, #"{"call":"c1","approver":"web","rule":"ask-shell","reason":"r"}"#),
            entry(7, .approvalAnswered, #"{"call":"c1","decision":"approve","by":"web:me@127.0.0.1"}"#),
            entry(8, .toolResult, #"{"call":"c1","status":"completed","exit_code":0}"#),
        ])
        let tool = try #require(spans.first { $0.name == "execute_tool shell" })
        #expect(tool.attributes["airlock.policy.decision"] == "ask" && tool.attributes["airlock.policy.rule"] == "ask-shell")
        let wait = try #require(spans.first { $0.name == "approval c1" })
        #expect(wait.parentSpanID == tool.spanID)
        #expect(wait.endNanos - wait.startNanos == 3_000_000_000)
        #expect(wait.attributes["airlock.approval.decision"] == "approve")
    }

    @Test("live: every span reaches the collector once; a second exporter on the same run sends nothing again")
    func liveOnceAndWatermark() async throws {
        let (fixture, run) = try await recordedRun()
        defer { fixture.remove() }
        let collector = try await OTLPCollector.start()
        defer { Task { await collector.shutdown() } }
        let log = CapturedLog()
        let exporter = LiveTraceExporter(configuration: try configuration(collector.endpoint), store: run.store,
                                         logger: log.logger, includeContent: false, maxBatch: 3,
                                         pollInterval: .milliseconds(20))
        await exporter.follow(run: run.result.runID)
        let stats = await exporter.finish(grace: .seconds(10))
        let expected = LedgerSpans.build(try await run.store.ledgerEntries(run: run.result.runID))
        let ids = try collector.spans().map(\.spanID)
        #expect(ids.count == expected.count && Set(ids) == Set(expected.map(\.spanID)), "each span once")
        #expect(collector.requests.count > 1, "batches of at most 3 spans")
        #expect(stats.sent == expected.count && stats.dropped == 0)
        #expect(log.warnings.isEmpty)
        let mark = ExportWatermark(stateDirectory: run.store.stateDirectory, run: run.result.runID).read()
        #expect(mark == (try await run.store.ledgerEntries(run: run.result.runID).last { $0.kind == .runFinished }?.seq))

        let again = LiveTraceExporter(configuration: try configuration(collector.endpoint), store: run.store,
                                      logger: log.logger, includeContent: false, pollInterval: .milliseconds(20))
        await again.follow(run: run.result.runID)
        #expect(await again.finish(grace: .seconds(10)).sent == 0)
        #expect(try collector.spans().count == expected.count)
    }

    @Test("429 with Retry-After, then 503: retried after the asked delay, then delivered")
    func retriesHonourRetryAfter() async throws {
        let (fixture, run) = try await recordedRun()
        defer { fixture.remove() }
        let collector = try await OTLPCollector.start([
            CannedResponse(status: 429, headers: [("retry-after", "1")]),
            CannedResponse(status: 503),
        ])
        defer { Task { await collector.shutdown() } }
        let log = CapturedLog()
        let exporter = LiveTraceExporter(configuration: try configuration(collector.endpoint), store: run.store,
                                         logger: log.logger, includeContent: false, pollInterval: .milliseconds(20))
        let expected = LedgerSpans.build(try await run.store.ledgerEntries(run: run.result.runID))
        let began = ContinuousClock.now
        await exporter.follow(run: run.result.runID)
        await settle(exporter, expected.count)
        let stats = await exporter.finish(grace: .seconds(20))
        #expect(ContinuousClock.now - began >= .seconds(1), "Retry-After: 1 was honoured")
        #expect(stats.dropped == 0 && stats.attempts >= 3)
        #expect(Set(try collector.spans().map(\.spanID)).count == expected.count)
        #expect(log.warnings.isEmpty)
    }

    @Test("a collector that always answers 429 or 500: attempts are bounded, spans dropped with one warning")
    func boundedThenDropped() async throws {
        let (fixture, run) = try await recordedRun()
        defer { fixture.remove() }
        for status in [429, 500] {
            let collector = try await OTLPCollector.start(Array(repeating: CannedResponse(status: status), count: 400))
            let log = CapturedLog()
            var retry = ExportRetry()
            retry.base = .milliseconds(5)
            retry.cap = .milliseconds(20)
            let exporter = LiveTraceExporter(configuration: try configuration(collector.endpoint), store: run.store,
                                             logger: log.logger, includeContent: false, retry: retry, maxBatch: 2,
                                             pollInterval: .milliseconds(20))
            try? FileManager.default.removeItem(at: ExportWatermark(stateDirectory: run.store.stateDirectory,
                                                                    run: run.result.runID).file)
            let total = LedgerSpans.build(try await run.store.ledgerEntries(run: run.result.runID)).count
            await exporter.follow(run: run.result.runID)
            await settle(exporter, total)
            let stats = await exporter.finish(grace: .seconds(10))
            let batches = collector.requests.count
            #expect(stats.dropped == total && stats.sent == 0)
            // 429 is retryable (5 tries for the first batch, then one per batch while the
            // collector is down); 500 is not (one try per batch), as OTLP/HTTP specifies.
            let batchCount = (total + 1) / 2
            #expect(batches == (status == 429 ? retry.attempts + batchCount - 1 : batchCount), "\(status): \(batches) requests")
            #expect(log.warnings.count == 1, "\(status): \(log.warnings)")
            await collector.shutdown()
        }
    }

    @Test("a dead collector: the exporter finishes promptly, memory bounded by the queue, one warning")
    func deadCollector() async throws {
        let (fixture, run) = try await recordedRun()
        defer { fixture.remove() }
        // A port that was just free: nothing listens there.
        let closed = try await OTLPCollector.start()
        let endpoint = closed.endpoint
        await closed.shutdown()
        let log = CapturedLog()
        let exporter = LiveTraceExporter(configuration: try configuration(endpoint), store: run.store, logger: log.logger,
                                         includeContent: false, maxQueue: 4, maxBatch: 2, pollInterval: .milliseconds(20))
        let began = ContinuousClock.now
        await exporter.follow(run: run.result.runID)
        let stats = await exporter.finish(grace: .seconds(15))
        #expect(ContinuousClock.now - began < .seconds(15))
        #expect(stats.sent == 0 && stats.dropped > 0)
        #expect(stats.peakQueued <= 4 + 1, "the queue stays within its bound")
        #expect(log.warnings.count == 1, "\(log.warnings)")
    }
}
