import AirlockModels
import Crypto
import Foundation

/// Derives a run's trace from its ledger, so the trace is as complete as the ledger and no
/// step reports on itself: `invoke_agent airlock` (root), `chat {model}` per model call with
/// `gen_ai.usage.*`, `execute_tool {name}` per tool call, one span per sandbox life, and
/// one client span per egress request, under the tool call it ran in.
/// Message content is included only when asked (`--otel-content`).
public enum LedgerSpans {
    public static func build(_ entries: [LedgerEntry], includeContent: Bool = false) -> [TraceSpan] {
        guard let first = entries.first else { return [] }
        let run = first.run
        let traceID = hex(SHA256.hash(data: Data("trace:\(run)".utf8)), bytes: 16)
        let rootID = spanID(run, "root")
        let config = entries.first { $0.kind == .runStarted }?.payload
        let modelText = config?["model"]?.stringValue ?? ""
        let model = ModelSpec(parsing: modelText)
        var spans: [TraceSpan] = []
        var openChat: LedgerEntry?
        var openTools: [String: LedgerEntry] = [:]
        // Tool spans by call id, kept after the call ends: egress entries may come later.
        var toolSpans: [String: String] = [:]
        var openSandboxes: [String: (LedgerEntry, UInt64)] = [:]
        var inputTokens = 0, outputTokens = 0
        var finished: LedgerEntry?

        for entry in entries {
            let payload = entry.payload
            let time = nanos(entry.time)
            switch entry.kind {
            case .modelRequest:
                openChat = entry
            case .modelResponse:
                guard let request = openChat else { continue }
                openChat = nil
                var attributes: [String: JSONValue] = [
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": .string(model?.provider.rawValue ?? "unknown"),
                    "gen_ai.system": .string(model?.provider.rawValue ?? "unknown"),
                    "gen_ai.request.model": .string(model?.name ?? modelText),
                ]
                if let usage = payload["usage"] {
                    let input = usage["input_tokens"]?.intValue ?? 0, output = usage["output_tokens"]?.intValue ?? 0
                    inputTokens += input
                    outputTokens += output
                    attributes["gen_ai.usage.input_tokens"] = .int(input)
                    attributes["gen_ai.usage.output_tokens"] = .int(output)
                }
                if let reason = payload["finish_reason"]?.stringValue {
                    attributes["gen_ai.response.finish_reasons"] = .array([.string(reason)])
                }
                if includeContent {
                    attributes["gen_ai.input.messages"] = .string(CanonicalJSON.string(request.payload["last"] ?? .null))
                    attributes["gen_ai.output.messages"] = .string(CanonicalJSON.string(.object([
                        "text": payload["text"] ?? .null, "tool_calls": payload["tool_calls"] ?? .array([]),
                    ])))
                }
                spans.append(TraceSpan(traceID: traceID, spanID: spanID(run, "chat-\(request.seq)"), parentSpanID: rootID,
                                       name: "chat \(model?.name ?? modelText)", kind: .client,
                                       startNanos: nanos(request.time), endNanos: time, attributes: attributes,
                                       isError: payload["error"] != nil))
            case .toolCallValidated:
                if let call = payload["call"]?.stringValue {
                    openTools[call] = entry
                    toolSpans[call] = spanID(run, "tool-\(entry.seq)")
                }
            case .egressRequest:
                spans.append(egressSpan(entry, traceID: traceID,
                                        parent: payload["call"]?.stringValue.flatMap { toolSpans[$0] } ?? rootID))
            case .toolResult:
                guard let call = payload["call"]?.stringValue, let start = openTools.removeValue(forKey: call) else { continue }
                let name = start.payload["name"]?.stringValue ?? "tool"
                var attributes: [String: JSONValue] = [
                    "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": .string(name),
                    "gen_ai.tool.call.id": .string(call), "gen_ai.tool.type": "function",
                ]
                if let code = payload["exit_code"]?.intValue { attributes["airlock.tool.exit_code"] = .int(code) }
                if let status = payload["status"]?.stringValue { attributes["airlock.tool.status"] = .string(status) }
                if includeContent {
                    attributes["gen_ai.tool.call.arguments"] = .string(CanonicalJSON.string(start.payload["arguments"] ?? .null))
                    attributes["gen_ai.tool.call.result"] = .string(CanonicalJSON.string(payload))
                }
                let status = payload["status"]?.stringValue ?? ""
                spans.append(TraceSpan(traceID: traceID, spanID: spanID(run, "tool-\(start.seq)"), parentSpanID: rootID,
                                       name: "execute_tool \(name)", kind: .internal, startNanos: nanos(start.time),
                                       endNanos: time, attributes: attributes,
                                       isError: status != "completed"))
            case .sandboxStarted:
                let id = payload["sandbox"]?.stringValue ?? "?"
                let startMs = payload["start_ms"].flatMap { value -> Double? in
                    if case .double(let number) = value { return number }
                    return value.intValue.map(Double.init)
                } ?? 0
                openSandboxes[id] = (entry, time - min(time, UInt64(startMs * 1_000_000)))
            case .sandboxKilled, .sandboxReplaced:
                let id = payload["sandbox"]?.stringValue ?? "?"
                guard let (start, began) = openSandboxes.removeValue(forKey: id) else { continue }
                spans.append(TraceSpan(traceID: traceID, spanID: spanID(run, "sandbox-\(start.seq)"), parentSpanID: rootID,
                                       name: "sandbox \(id)", kind: .internal, startNanos: began, endNanos: time,
                                       attributes: ["airlock.sandbox.id": .string(id), "airlock.sandbox.backend": "bwrap",
                                                    "airlock.sandbox.end": .string(entry.kind.rawValue),
                                                    "airlock.sandbox.start_ms": start.payload["start_ms"] ?? .null]))
            case .runFinished:
                finished = entry
            default:
                break
            }
        }
        let end = finished ?? entries[entries.count - 1]
        var rootAttributes: [String: JSONValue] = [
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "airlock",
            "gen_ai.request.model": .string(model?.name ?? modelText),
            "gen_ai.provider.name": .string(model?.provider.rawValue ?? "unknown"),
            "gen_ai.usage.input_tokens": .int(inputTokens), "gen_ai.usage.output_tokens": .int(outputTokens),
            "airlock.run.id": .string(run),
        ]
        if let outcome = finished?.payload["outcome"] { rootAttributes["airlock.run.outcome"] = outcome }
        if let code = finished?.payload["exit_code"] { rootAttributes["airlock.run.exit_code"] = code }
        let root = TraceSpan(traceID: traceID, spanID: rootID, parentSpanID: nil, name: "invoke_agent airlock",
                             kind: .internal, startNanos: nanos(first.time), endNanos: nanos(end.time),
                             attributes: rootAttributes, isError: (finished?.payload["exit_code"]?.intValue ?? 1) != 0)
        return [root] + spans
    }

    /// An egress request as an HTTP client span (host, port, method, path; bytes and the
    /// proxy's verdict as `airlock.egress.*`), timed from its own start and duration.
    static func egressSpan(_ entry: LedgerEntry, traceID: String, parent: String) -> TraceSpan {
        let payload = entry.payload
        let method = payload["method"]?.stringValue ?? "?"
        let host = payload["host"]?.stringValue ?? "?"
        let allowed = payload["allowed"] == .bool(true)
        var attributes: [String: JSONValue] = [
            "http.request.method": .string(method), "server.address": .string(host),
            "server.port": payload["port"] ?? .null,
            "airlock.egress.allowed": .bool(allowed), "airlock.egress.scheme": payload["scheme"] ?? .null,
            "airlock.egress.bytes_up": payload["bytes_up"] ?? .int(0),
            "airlock.egress.bytes_down": payload["bytes_down"] ?? .int(0),
        ]
        if let path = payload["path"]?.stringValue { attributes["url.path"] = .string(path) }
        if let reason = payload["reason"]?.stringValue { attributes["airlock.egress.reason"] = .string(reason) }
        let duration = UInt64(max(0, payload["duration_ms"]?.intValue ?? 0)) * 1_000_000
        let started = payload["started"]?.stringValue.map(nanos) ?? 0
        let end = started > 0 ? started + duration : nanos(entry.time)
        return TraceSpan(traceID: traceID, spanID: spanID(entry.run, "egress-\(entry.seq)"), parentSpanID: parent,
                         name: "\(method) \(host)", kind: .client, startNanos: end - min(end, duration), endNanos: end,
                         attributes: attributes, isError: !allowed)
    }

    static func spanID(_ run: String, _ key: String) -> String {
        hex(SHA256.hash(data: Data("span:\(run):\(key)".utf8)), bytes: 8)
    }

    static func hex(_ digest: SHA256.Digest, bytes: Int) -> String {
        digest.prefix(bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Nanoseconds since the epoch of a ledger time (`2026-11-29T13:45:01.123Z`).
    static func nanos(_ time: String) -> UInt64 {
        let parts = time.split(whereSeparator: { "-T:.Z".contains($0) }).compactMap { Int($0) }
        guard parts.count >= 7 else { return 0 }
        var value = tm()
        value.tm_year = Int32(parts[0] - 1900)
        value.tm_mon = Int32(parts[1] - 1)
        value.tm_mday = Int32(parts[2])
        value.tm_hour = Int32(parts[3])
        value.tm_min = Int32(parts[4])
        value.tm_sec = Int32(parts[5])
        let seconds = timegm(&value)
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(parts[6]) * 1_000_000
    }
}
