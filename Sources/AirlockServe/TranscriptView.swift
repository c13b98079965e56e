import AirlockCore
import AirlockModels

/// A run's ledger as a conversation: model turns, tool calls with their arguments, policy
/// decisions, approvals and who answered, outputs, sandbox events, the end. Frames and
/// budget charges are left to the full ledger below it.
enum TranscriptView {
    static func render(_ entries: [LedgerEntry]) -> String {
        // A call's arguments are shown once, at its validated entry; a model turn shows them
        // only for calls that never got that far (rejected ones).
        let validated = Set(entries.filter { $0.kind == .toolCallValidated }.compactMap { $0.payload["call"]?.stringValue })
        return entries.compactMap { entry($0, validated: validated) }.joined()
    }

    private static func row(_ kind: String, _ who: String, _ seq: Int, _ time: String, _ body: String) -> String {
        "<div class=\"entry \(kind)\"><div class=\"who\">\(who)<small>#\(seq) · \(HTML.escape(String(Timestamps.short(time).suffix(8))))</small></div><div>\(body)</div></div>"
    }

    private static func pill(_ text: String) -> String {
        "<span class=\"pill \(HTML.escape(text))\">\(HTML.escape(text))</span>"
    }

    static func entry(_ entry: LedgerEntry, validated: Set<String> = []) -> String? {
        let payload = entry.payload
        func text(_ key: String) -> String { payload[key]?.stringValue ?? "" }
        func row(_ kind: String, _ who: String, _ body: String) -> String {
            Self.row(kind, who, entry.seq, entry.time, body)
        }
        switch entry.kind {
        case .runStarted:
            return row("note", "started", "<div>\(HTML.escape(text("task")))</div><div class=\"meta\">model \(HTML.escape(text("model")))</div>")
        case .runResumed:
            return row("note", "resumed", "<div class=\"meta\">a new harness took over the run</div>")
        case .modelResponse:
            if let error = payload["error"]?.stringValue { return row("model", "model", "<span class=\"pill bad\">failed</span> \(HTML.escape(error))") }
            var body = ""
            if !text("text").isEmpty { body += "<div style=\"white-space:pre-wrap\">\(HTML.escape(HTML.clip(text("text"))))</div>" }
            for call in payload["tool_calls"].map(arrayMembers) ?? [] {
                let id = call["id"]?.stringValue ?? ""
                body += "<div class=\"meta\">calls <code>\(HTML.escape(call["name"]?.stringValue ?? "?"))</code> <span class=\"mono\">\(HTML.escape(id))</span></div>"
                if !validated.contains(id) { body += ArgumentsView.render(text: call["arguments"]?.stringValue ?? "") }
            }
            if let usage = payload["usage"] {
                body += "<div class=\"meta\">\(usage["input_tokens"]?.intValue ?? 0) in + \(usage["output_tokens"]?.intValue ?? 0) out tokens</div>"
            }
            return row("model", "model<small>step \(payload["step"]?.intValue ?? 0)</small>", body.isEmpty ? "<span class=\"meta\">(empty turn)</span>" : body)
        case .modelRetry:
            return row("note", "retry", "<span class=\"meta\">\(HTML.escape(payload.canonicalJSON))</span>")
        case .toolCallValidated:
            return row("tool", "tool call", "<code>\(HTML.escape(text("name")))</code> <span class=\"meta mono\">\(HTML.escape(text("call")))</span>"
                       + ArgumentsView.render(payload["arguments"] ?? .null))
        case .toolCallRejected:
            return row("tool", "rejected", "<span class=\"pill bad\">invalid</span> \(HTML.escape(text("message")))")
        case .policyDecision:
            let rule = payload["rule"]?.stringValue.map { " rule <code>\(HTML.escape($0))</code>" } ?? ""
            return row("policy", "policy", "\(pill(text("decision")))\(rule) <span class=\"meta\">\(HTML.escape(text("reason")))</span>")
        case .approvalRequested:
            return row("human", "asked", "asked a human (approver <code>\(HTML.escape(text("approver")))</code>): \(HTML.escape(text("reason")))")
        case .approvalAnswered:
            let reason = text("reason").isEmpty ? "" : " — \(HTML.escape(text("reason")))"
            return row("human", "answered", "\(pill(text("decision"))) by <b>\(HTML.escape(text("by")))</b>\(reason)")
        case .toolResult:
            return row("tool", "result", result(payload))
        case .egressRequest:
            let allowed = payload["allowed"] == .bool(true)
            let verdict = allowed ? "<span class=\"pill ok\">allowed</span>" : "<span class=\"pill bad\">refused</span>"
            let target = "\(text("host")):\(payload["port"]?.intValue ?? 0)" + (text("path").hasPrefix("/") ? text("path") : "")
            var body = "\(verdict) <code>\(HTML.escape(text("method")))</code> <span class=\"mono\">\(HTML.escape(HTML.clip(target, 300)))</span>"
            body += " <span class=\"meta\">\(payload["bytes_up"]?.intValue ?? 0) B up · \(payload["bytes_down"]?.intValue ?? 0) B down"
            body += " · \(payload["duration_ms"]?.intValue ?? 0) ms"
            if case .array(let secrets)? = payload["secrets"], !secrets.isEmpty {
                body += " · secrets " + HTML.escape(secrets.compactMap(\.stringValue).joined(separator: ", "))
            }
            body += "</span>"
            if !text("reason").isEmpty { body += "<div class=\"meta\">\(HTML.escape(text("reason")))</div>" }
            return row(allowed ? "note" : "policy", "egress", body)
        case .sandboxStarted, .sandboxKilled, .sandboxReplaced:
            let what = entry.kind.rawValue.replacingOccurrences(of: "sandbox_", with: "")
            let image = text("image").isEmpty ? "" : " on image <span class=\"mono\">\(HTML.escape(text("image")))</span>"
            return row("note", "sandbox", "<span class=\"meta\">\(HTML.escape(what)) \(HTML.escape(text("sandbox")))\(image) \(HTML.escape(text("reason")))</span>")
        case .runFinished:
            var body = "\(pill(text("outcome"))) exit \(payload["exit_code"]?.intValue ?? 1) <span class=\"meta\">\(HTML.escape(text("reason")))</span>"
            if let answer = payload["answer"]?.stringValue { body += "<pre>\(HTML.escape(HTML.clip(answer)))</pre>" }
            return row("end", "finished", body)
        case .note:
            return row("note", "note", "<span class=\"meta\">\(HTML.escape(payload.canonicalJSON))</span>")
        default:
            return nil
        }
    }

    private static func result(_ payload: JSONValue) -> String {
        let status = payload["status"]?.stringValue ?? "?"
        let isError = payload["is_error"] == .bool(true)
        var body = "<span class=\"pill \(isError ? "bad" : "ok")\">\(HTML.escape(status))</span>"
        if let code = payload["exit_code"]?.intValue { body += " exit \(code)" }
        if let ms = payload["duration_ms"]?.intValue { body += " <span class=\"meta\">\(ms) ms</span>" }
        var shown = false
        for key in ["stdout", "stderr"] {
            if let out = payload[key]?.stringValue, !out.isEmpty {
                body += "<div class=\"meta\">\(key)</div><pre>\(HTML.escape(HTML.clip(out)))</pre>"
                shown = true
            }
        }
        if !shown, let content = payload["content"]?.stringValue, !content.isEmpty {
            body += "<pre>\(HTML.escape(HTML.clip(content)))</pre>"
        }
        return body
    }

    private static func arrayMembers(_ value: JSONValue) -> [JSONValue] {
        if case .array(let items) = value { return items }
        return []
    }
}
