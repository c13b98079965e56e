import AirlockModels
import Metrics

/// The fleet's counters as a fold of ledgers through swift-metrics (whichever backend the
/// process bootstrapped; `airlock serve` uses Prometheus). Folding the ledger rather than
/// counting in the loop means any process that can read the store reports every run,
/// including runs driven by other processes, and the counters equal what the ledger says.
/// Names follow Prometheus conventions (`_total`, `_seconds`); labels never carry content.
public struct LedgerMetrics: Sendable {
    private var models: [String: String] = [:]
    private var toolStarts: [String: (name: String, nanos: UInt64)] = [:]

    public init() {}

    public mutating func add(_ entry: LedgerEntry) {
        let payload = entry.payload
        switch entry.kind {
        case .runStarted:
            // A script model is a file: its name, not its path, is the label.
            let spec = ModelSpec(parsing: payload["model"]?.stringValue ?? "")
            let name = spec.map { $0.provider == .script ? String($0.name.split(separator: "/").last ?? "script") : $0.name }
            models[entry.run] = name ?? "unknown"
            Counter(label: "airlock_runs_started_total").increment()
        case .runFinished:
            Counter(label: "airlock_runs_finished_total",
                    dimensions: [("outcome", payload["outcome"]?.stringValue ?? "unknown")]).increment()
            models[entry.run] = nil
            toolStarts = toolStarts.filter { !$0.key.hasPrefix(entry.run + "/") }
        case .modelResponse:
            let model = models[entry.run] ?? "unknown"
            Counter(label: "airlock_model_calls_total",
                    dimensions: [("model", model), ("status", payload["error"] == nil ? "ok" : "error")]).increment()
            if let usage = payload["usage"] {
                for (key, direction) in [("input_tokens", "input"), ("output_tokens", "output")] {
                    let count = usage[key]?.intValue ?? 0
                    if count > 0 {
                        Counter(label: "airlock_model_tokens_total",
                                dimensions: [("model", model), ("direction", direction)]).increment(by: count)
                    }
                }
            }
        case .toolCallValidated:
            if let call = payload["call"]?.stringValue {
                toolStarts[entry.run + "/" + call] = (payload["name"]?.stringValue ?? "unknown", LedgerSpans.nanos(entry.time))
            }
        case .toolResult:
            guard let call = payload["call"]?.stringValue,
                  let start = toolStarts.removeValue(forKey: entry.run + "/" + call) else { return }
            let status = payload["status"]?.stringValue ?? "unknown"
            Counter(label: "airlock_tool_calls_total", dimensions: [("tool", start.name), ("status", status)]).increment()
            let end = LedgerSpans.nanos(entry.time)
            Metrics.Timer(label: "airlock_tool_call_duration_seconds", dimensions: [("tool", start.name)])
                .recordNanoseconds(Int64(end - min(end, start.nanos)))
        case .sandboxStarted:
            let backend = payload["backend"]?.stringValue ?? "unknown"
            Counter(label: "airlock_sandbox_starts_total", dimensions: [("backend", backend)]).increment()
            let millis: Double = switch payload["start_ms"] {
            case .double(let value)?: value
            case .int(let value)?: Double(value)
            default: 0
            }
            Metrics.Timer(label: "airlock_sandbox_start_seconds", dimensions: [("backend", backend)])
                .recordNanoseconds(Int64(millis * 1_000_000))
        case .egressRequest:
            Counter(label: "airlock_egress_requests_total",
                    dimensions: [("allowed", payload["allowed"] == .bool(true) ? "true" : "false")]).increment()
            for (key, direction) in [("bytes_up", "up"), ("bytes_down", "down")] {
                let bytes = payload[key]?.intValue ?? 0
                if bytes > 0 {
                    Counter(label: "airlock_egress_bytes_total", dimensions: [("direction", direction)]).increment(by: bytes)
                }
            }
        default:
            break
        }
    }
}
