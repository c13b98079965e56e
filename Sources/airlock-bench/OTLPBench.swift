import AirlockCore
import AirlockModels
import AirlockOTLP
import AirlockSandbox
import AirlockBubblewrap
import AirlockStoreSQLite
import Foundation
import Logging
import Synchronization

/// `airlock-bench otlp`: what live span export costs a step. The same scripted run
/// (list_files steps) alternates with the exporter off and on against a collector on
/// loopback that answers 200 at once (OTLPSink), so both sides share the machine's state;
/// per-step medians and their ratio. Then the exporter's memory with the collector away for
/// the whole run: its peak queue (spans and encoded bytes) and the process's RSS growth
/// against the same run with export off. The queue is filled only between sends (the
/// ledger is the buffer), so a stuck collector holds one batch in flight, not the run.
enum OTLPBench {
    static func run(steps: Int, workspace: String) async throws -> String {
        let sink = try await OTLPSink.start()
        defer { sink.stop() }
        var off: [Double] = [], on: [Double] = []
        for round in 0..<6 {
            let exporting = round % 2 == 1
            let samples = try await stepTimes(steps: steps, workspace: workspace,
                                              endpoint: exporting ? sink.endpoint : nil).samples
            if exporting { on += samples } else { off += samples }
        }
        let offSeries = Series(name: "off", samples: off), onSeries = Series(name: "on", samples: on)
        var lines = [
            "live OTLP export (http/protobuf to a loopback collector), \(steps) list_files steps × 3 runs each way, alternating",
            "  step, export off: \(fmt(offSeries.median, 3)) ms median, p99 \(fmt(offSeries.p99, 3)) ms",
            "  step, export on:  \(fmt(onSeries.median, 3)) ms median, p99 \(fmt(onSeries.p99, 3)) ms"
                + " (\(sink.requests) requests, \(sink.bytes) bytes received)",
            "  ratio on/off (median): \(fmt(ratio(onSeries.median, offSeries.median), 3))",
        ]
        // Memory with the collector away for the whole run: refusing connections (fails fast),
        // and up but never answering (each request waits out a 1 s timeout, so the queue fills
        // to its bound and the exporter stops reading ahead).
        let hanging = try await OTLPSink.start(hang: true)
        defer { hanging.stop() }
        let cases: [(String, String?)] = [("export off (baseline)", nil), ("collector refusing connections", "http://127.0.0.1:9"),
                                          ("collector never answering", hanging.endpoint)]
        for (label, endpoint) in cases {
            let before = residentKiB()
            let run = try await stepTimes(steps: steps * 3, workspace: workspace, endpoint: endpoint, maxQueue: 512,
                                          timeout: .seconds(1))
            let after = residentKiB()
            var line = "  \(label), \(steps * 3) steps: step \(fmt(run.series.median, 3)) ms median; process RSS \(before) → \(after) KiB"
            if endpoint != nil {
                line += "; exporter peak queue \(run.stats.peakQueued) spans (bound 512, ~\(run.peakBytes / 1024) KiB encoded),"
                    + " \(run.stats.sent) sent, \(run.stats.dropped) dropped, \(run.total - run.stats.sent - run.stats.dropped)"
                    + " left in the ledger for `export --otlp`, \(run.stats.attempts) requests"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    struct Outcome {
        var series: Series
        var samples: [Double] { series.samples }
        var stats: LiveTraceExporter.Stats
        var peakBytes: Int
        var total: Int
    }

    private static func stepTimes(steps: Int, workspace: String, endpoint: String?, maxQueue: Int = 2048,
                                  timeout: Duration = .seconds(10)) async throws -> Outcome {
        let stateDirectory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("airlock-bench-otlp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: stateDirectory) }
        let turn = #"{"tool_calls": [{"name": "list_files", "arguments": {"path": "empty"}}], "usage": {"input_tokens": 10, "output_tokens": 5}}"#
        let script = #"{"turns": ["# + Array(repeating: turn, count: steps).joined(separator: ",")
            + #", {"tool_calls": [{"name": "submit", "arguments": {"answer": "done"}}]}]}"#
        let model = try ScriptedModel(spec: ModelSpec(provider: .script, name: "bench.json"), json: Data(script.utf8))
        let store = try Store(stateDirectory: stateDirectory, redactor: .none)
        var logger = Logger(label: "airlock-bench")
        logger.logLevel = .critical
        let exporter = try endpoint.map { url in
            var settings = OTLPConfiguration(endpoint: url + "/v1/traces")
            settings.timeout = timeout
            return LiveTraceExporter(configuration: settings,
                              store: store, logger: logger,
                              includeContent: false, maxQueue: maxQueue)
        }
        let marks = Mutex<[ContinuousClock.Instant]>([])
        let configuration = RunConfiguration(task: "bench", model: model.spec, limits: BudgetLimits(),
                                             sandbox: SandboxConfiguration(workspace: workspace))
        let loop = AgentLoop(configuration: configuration, model: model, backend: BubblewrapBackend(), store: store) { event in
            if event.type == "run_started" { exporter?.followSoon(run: event.run) }
            if event.type == "model_request" { marks.withLock { $0.append(.now) } }
        }
        let result = try await loop.run()
        guard result.exitCode == 0 else { throw BenchError("the bench run ended \(result.outcome): \(result.reason)") }
        let stats = await exporter?.finish(grace: min(timeout, .seconds(5))) ?? LiveTraceExporter.Stats()
        let instants = marks.withLock { $0 }
        let durations = zip(instants.dropFirst(), instants).map { ($0 - $1).ms }
        // The encoded size of a full queue: the spans of the run, as many as the peak.
        let all = LedgerSpans.build(try await store.ledgerEntries(run: result.runID))
        let bytes = (try? OTLPEncoding.protobuf(Array(all.prefix(stats.peakQueued)), resource: ["service.name": "airlock"]).count) ?? 0
        return Outcome(series: Series(name: "step", samples: Array(durations.dropFirst(3))), stats: stats, peakBytes: bytes,
                       total: all.count)
    }

    private static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}
