import AirlockModels
import Crypto
import Foundation

/// Derives a run's trace from its ledger, so the trace is as complete as the ledger and no
/// step reports on itself: `invoke_agent airlock` (root), `chat {model}` per model call with
/// `gen_ai.usage.*`, `execute_tool {name}` per tool call (with its policy decision), an
/// `approval` span per wait for an answer, one span per sandbox life, and one client span
/// per egress request, under the tool call it ran in (see SpanAssembler).
/// Message content is included only when asked (`--otel-content`).
public enum LedgerSpans {
    /// Every span of the ledger; a run not yet finished gets a root ending at its last entry.
    public static func build(_ entries: [LedgerEntry], includeContent: Bool = false) -> [TraceSpan] {
        guard let first = entries.first, let last = entries.last else { return [] }
        var assembler = SpanAssembler(run: first.run, includeContent: includeContent)
        var spans: [TraceSpan] = []
        for entry in entries { spans += assembler.add(entry) }
        // The root first, as before: readers find the parent ahead of its children.
        if let index = spans.firstIndex(where: { $0.spanID == assembler.rootID }) {
            return [spans.remove(at: index)] + spans
        }
        return [assembler.provisionalRoot(last: last)] + spans
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
    public static func nanos(_ time: String) -> UInt64 {
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
