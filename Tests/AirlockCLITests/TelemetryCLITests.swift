import AirlockTestSupport
import Foundation
import Glibc
import Testing

extension RunScene {
    static func turn(_ command: String, usage: (Int, Int)) -> [String: Any] {
        ["tool_calls": [["name": "shell", "arguments": ["command": command]]],
         "usage": ["input_tokens": usage.0, "output_tokens": usage.1]]
    }

    /// A script of `steps` shell calls (each sleeping `pause` seconds), then submit.
    func tracedScript(steps: Int, pause: String = "0") throws -> String {
        var turns = (1...steps).map { RunScene.turn("sleep \(pause); echo step-\($0) >> log.txt", usage: (100 + $0, 10 + $0)) }
        turns.append(["tool_calls": [["name": "submit", "arguments": ["answer": "traced"]]],
                      "usage": ["input_tokens": 7, "output_tokens": 3]])
        return try script(turns)
    }

    func otel(_ collector: String, _ extra: [String: String] = [:]) -> [String: String] {
        ["OTEL_EXPORTER_OTLP_ENDPOINT": collector].merging(extra) { $1 }
    }

    /// `airlock export RUN --otlp` to a fresh collector: every span of the ledger, the reference.
    func allSpans(_ run: String) async throws -> [CollectedSpan] {
        let reference = try await OTLPCollector.start()
        defer { Task { await reference.shutdown() } }
        let export = try await RunBinary.run(["export", run, "--otlp", "--state-dir", stateDir],
                                             environment: otel(reference.endpoint))
        #expect(export.status == 0, "export --otlp: \(export.stderr)")
        return try reference.spans()
    }
}

func runID(_ stdout: String) -> String? {
    stdout.split(separator: "\n").lazy
        .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        .first { $0["type"] as? String == "run_started" }?["run"] as? String
}

/// `airlock run`/`resume` sending spans live over OTLP/HTTP to in-test collectors.
@Suite("telemetry: live OTLP export from the CLI",
       .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct TelemetryCLITests {
    @Test("spans arrive over protobuf while the run is still going, one trace, parents intact")
    func liveWhileRunning() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let collector = try await OTLPCollector.start()
        defer { Task { await collector.shutdown() } }
        let model = try scene.tracedScript(steps: 2, pause: "2")
        let harness = try scene.harness(["run", "trace me", "--model", model, "--workspace", scene.workspace, "--json"],
                                        environment: scene.otel(collector.endpoint))
        defer { harness.cleanUp() }
        // The first chat span ends before the first tool call's 2 s sleep does.
        var seenWhileRunning = false
        let deadline = ContinuousClock.now + .seconds(20)
        while harness.process.isRunning, ContinuousClock.now < deadline {
            if (try? collector.spans())?.contains(where: { $0.name.hasPrefix("chat ") }) == true {
                seenWhileRunning = harness.process.isRunning
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(seenWhileRunning, "no chat span reached the collector while the run was going")
        let end = await harness.wait()
        #expect(end.status == 0, "\(harness.stderr)")
        let run = try #require(runID(harness.stdout))
        let spans = try collector.spans()
        #expect(collector.requests.allSatisfy { $0.header("content-type") == "application/x-protobuf" })
        let reference = try await scene.allSpans(run)
        #expect(spans.count == reference.count && Set(spans.map(\.spanID)) == Set(reference.map(\.spanID)))
        #expect(Set(spans.map(\.traceID)).count == 1)
        let root = try #require(spans.first { $0.parentSpanID == nil })
        #expect(root.name == "invoke_agent airlock")
        let ids = Set(spans.map(\.spanID))
        #expect(spans.allSatisfy { $0.parentSpanID == nil || ids.contains($0.parentSpanID ?? "") })
        #expect(spans.filter { $0.name.hasPrefix("execute_tool ") }.count == 2)
        #expect(!harness.stderr.contains("warning"), "\(harness.stderr)")
    }

    @Test("SIGKILLed half-way, then resumed: every span reaches the collector, none again but the batch in flight at the kill")
    func killAndResume() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let collector = try await OTLPCollector.start()
        defer { Task { await collector.shutdown() } }
        let model = try scene.tracedScript(steps: 4, pause: "0.5")
        let environment = scene.otel(collector.endpoint)
        let harness = try scene.harness(["run", "trace me", "--model", model, "--workspace", scene.workspace, "--json"],
                                        environment: environment.merging(["AIRLOCK_FAULT_KILL_AT": "model_request:4"]) { $1 })
        defer { harness.cleanUp() }
        let end = await harness.wait()
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL, "\(harness.stderr)")
        let run = try #require(runID(harness.stdout))
        let before = try collector.spans().count
        let requestsBefore = collector.requests.count
        #expect(before > 0, "spans of the first steps went out live before the kill")

        let resumed = try await RunBinary.run(["resume", run, "--state-dir", scene.stateDir], environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let spans = try collector.spans()
        var counts: [String: Int] = [:]
        for span in spans { counts[span.spanID, default: 0] += 1 }
        // Delivery is at least once: a batch the collector had taken when the harness died,
        // before the harness read the answer, cannot be known as delivered and goes again.
        // That batch is the only one: any repeat must be in the last request before the kill
        // and in the first one after the resume (a broken watermark would resend more).
        let duplicates = Set(counts.filter { $0.value > 1 }.keys)
        if !duplicates.isEmpty {
            let requests = collector.requests
            let lastBefore = Set(try OTLPCollector.decode(requests[requestsBefore - 1]).map(\.spanID))
            let firstAfter = Set(try OTLPCollector.decode(requests[requestsBefore]).map(\.spanID))
            #expect(duplicates.isSubset(of: lastBefore) && duplicates.isSubset(of: firstAfter),
                    "repeated beyond the batch in flight at the kill: \(spans.filter { duplicates.contains($0.spanID) }.map(\.name))")
            #expect(counts.values.allSatisfy { $0 <= 2 })
        }
        let reference = try await scene.allSpans(run)
        #expect(Set(counts.keys) == Set(reference.map(\.spanID)), "missing: \(Set(reference.map(\.spanID)).subtracting(counts.keys))")
        #expect(Set(spans.map(\.traceID)).count == 1)
        #expect(spans.filter { $0.parentSpanID == nil }.count == 1)
    }

    @Test("http/json, and gzip on both encodings, with headers and the resource from the environment")
    func jsonAndGzip() async throws {
        for extra in [["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"],
                      ["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"],
                      ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"]] {
            let scene = try RunScene.make()
            defer { scene.remove() }
            let collector = try await OTLPCollector.start()
            defer { Task { await collector.shutdown() } }
            let model = try scene.tracedScript(steps: 1)
            let environment = scene.otel(collector.endpoint, extra.merging([
                "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20t0k",
                "OTEL_SERVICE_NAME": "airlock-ci", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test"]) { $1 })
            let outcome = try await scene.run(["--model", model, "--json"], environment: environment)
            #expect(outcome.status == 0, "\(extra): \(outcome.stderr)")
            let request = try #require(collector.requests.first)
            let json = extra["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/json"
            #expect(request.header("content-type") == (json ? "application/json" : "application/x-protobuf"))
            let gzip = extra.keys.contains { $0.hasSuffix("COMPRESSION") }
            #expect((request.header("content-encoding") == "gzip") == gzip, "\(extra)")
            #expect(request.header("authorization") == "Bearer t0k")
            #expect(try OTLPCollector.resource(request) == ["service.name": "airlock-ci", "deployment.environment": "test"])
            let spans = try collector.spans()
            let run = try #require(runID(outcome.stdout))
            #expect(Set(spans.map(\.spanID)) == Set(try await scene.allSpans(run).map(\.spanID)), "\(extra)")
            let chat = try #require(spans.first { $0.name.hasPrefix("chat ") })
            #expect(chat.attributes["gen_ai.usage.input_tokens"] != nil && chat.attributes["gen_ai.input.messages"] == nil)
        }
    }

    @Test("a collector that is down, hangs, or answers 500/429: the run finishes as fast as without one, one warning")
    func badCollectors() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.tracedScript(steps: 3)
        let began = ContinuousClock.now
        let plain = try await scene.run(["--model", model])
        let baseline = ContinuousClock.now - began
        #expect(plain.status == 0, "\(plain.stderr)")

        let closed = try await OTLPCollector.start()
        let deadEndpoint = closed.endpoint
        await closed.shutdown()
        let hanging = try await OTLPCollector.start(Array(repeating: CannedResponse(status: 200, delayBeforeHead: .seconds(60)), count: 50))
        let failing = try await OTLPCollector.start(Array(repeating: CannedResponse(status: 500), count: 50))
        let limited = try await OTLPCollector.start(Array(repeating: CannedResponse(status: 429, headers: [("retry-after", "1")]), count: 50))
        defer { Task { for collector in [hanging, failing, limited] { await collector.shutdown() } } }
        let cases: [(String, String, [String: String])] = [
            ("down", deadEndpoint, [:]),
            ("hanging", hanging.endpoint, ["OTEL_EXPORTER_OTLP_TIMEOUT": "1000"]),
            ("500", failing.endpoint, [:]),
            ("429", limited.endpoint, ["OTEL_EXPORTER_OTLP_TIMEOUT": "1000"]),
        ]
        for (label, endpoint, extra) in cases {
            let started = ContinuousClock.now
            let outcome = try await scene.run(["--model", model], environment: scene.otel(endpoint, extra))
            let took = ContinuousClock.now - started
            #expect(outcome.status == 0, "\(label): \(outcome.stderr)")
            #expect(outcome.stdout.contains("traced"), "\(label): the run's answer")
            // The exit waits for the last spans at most min(timeout, 5 s); nothing else slows.
            #expect(took < baseline + .seconds(6), "\(label): \(took) against \(baseline) without a collector")
            let warnings = outcome.stderr.split(separator: "\n").filter { $0.contains("warning") }
            #expect(warnings.count == 1, "\(label): \(outcome.stderr)")
        }
        // 500 is not retried: no span reaches the collector twice (how many batches the spans
        // make depends on the machine's load, so the requests are not counted).
        let refused = try failing.spans()
        #expect(!refused.isEmpty && Set(refused.map(\.spanID)).count == refused.count,
                "500 is not retried: \(refused.count) spans in \(failing.requests.count) requests, \(Set(refused.map(\.spanID)).count) distinct")
        #expect(!limited.requests.isEmpty && limited.requests.count <= 5, "429: bounded retries (\(limited.requests.count))")
    }

    @Test("diagnostics: --log-format json writes one JSON object a line; a bad level is a usage error")
    func logFormats() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.tracedScript(steps: 1)
        let closed = try await OTLPCollector.start()
        let endpoint = closed.endpoint
        await closed.shutdown()
        let outcome = try await scene.run(["--model", model, "--log-format", "json", "--log-level", "debug"],
                                          environment: scene.otel(endpoint))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }
        let objects = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(!objects.isEmpty && objects.count == lines.count)
        #expect(objects.contains { $0["level"] as? String == "warning" && ($0["message"] as? String ?? "").contains("export") })
        #expect(objects.allSatisfy { $0["time"] is String && $0["logger"] is String })
        let bad = try await scene.run(["--model", model, "--log-level", "loud"])
        #expect(bad.status == 2 && bad.stderr.contains("--log-level"), "\(bad.stderr)")
        let grpc = try await scene.run(["--model", model], environment: scene.otel(endpoint, ["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"]))
        #expect(grpc.status == 2 && grpc.stderr.contains("http/protobuf"), "\(grpc.stderr)")
    }
}
