import AirlockCore
import AirlockModels
import Foundation

/// `/runs/ID`: a run's header, budget use against its limits, ledger verification, the
/// calls it waits on, the transcript, and every ledger entry for the auditor.
enum RunPage {
    static func render(_ run: RunView, entries: [LedgerEntry], pending: [PendingApproval], verify: VerifyReport,
                       identity: String, csrf: String) -> String {
        let record = run.record
        var body = """
        <h1>Run <span class="mono">\(HTML.escape(record.id))</span> \
        <span class="pill \(HTML.escape(run.status))">\(HTML.escape(run.status))</span></h1>
        <p class="sub">\(HTML.escape(record.task))<br><span class="meta">model \(HTML.escape(record.model)) · \
        workspace <code>\(HTML.escape(record.workspace))</code> · started \(HTML.escape(Timestamps.short(record.createdAt)))\
        \(record.finishedAt.map { " · finished " + HTML.escape(Timestamps.short($0)) } ?? "")</span></p>
        """
        // Bytes through the egress proxy, when the run had network.
        let egress = entries.filter { $0.kind == .egressRequest }
        let hadNetwork = (run.record.config["egress"] ?? .null) != .null || !egress.isEmpty
        let egressBytes = hadNetwork
            ? egress.reduce(0) { $0 + ($1.payload["bytes_up"]?.intValue ?? 0) + ($1.payload["bytes_down"]?.intValue ?? 0) } : nil
        body += stats(run, verify: verify, egressBytes: egressBytes)
        if !pending.isEmpty {
            body += "<h2>Waiting for approval</h2><p class=\"meta\">Answers are recorded as <code>\(HTML.escape(identity))</code>.</p>"
            body += pending.map { ApprovalCard.render($0, showRun: false) }.joined()
        }
        if record.status != .finished {
            // The kill switch: the harness holding the run kills its sandbox and ends it (exit 4).
            body += "<p class=\"stop\" data-run=\"\(HTML.escape(record.id))\"><button data-stop>Stop run</button> "
                + "<input class=\"reason\" placeholder=\"why (for the ledger)\"> <span class=\"status\"></span></p>"
            body += "<div data-refresh=\"4\"></div>"
        }
        body += "<h2 style=\"margin-top:22px\">Transcript</h2><section class=\"card\">\(TranscriptView.render(entries))</section>"
        body += ledgerTable(entries)
        return Layout.page(title: "Run \(record.id)", active: "runs", body: body, csrf: csrf)
    }

    static func stats(_ run: RunView, verify: VerifyReport, egressBytes: Int? = nil) -> String {
        let record = run.record, budgets = run.budgets
        func stat(_ label: String, _ used: String, _ limit: String?, _ fraction: Double?) -> String {
            let bar = fraction.map { "<div class=\"bar\"><i style=\"width:\(Int(min(1, max(0, $0)) * 100))%\"></i></div>" } ?? ""
            return "<div class=\"stat\"><b>\(used)</b><span>\(label)\(limit.map { " of " + $0 } ?? " · no limit")</span>\(bar)</div>"
        }
        func fraction(_ used: Double, _ limit: Double?) -> Double? { limit.flatMap { $0 > 0 ? used / $0 : nil } }
        let maxSteps = budgets["max_steps"]?.intValue
        let maxTokens = budgets["max_tokens"]?.intValue
        let maxCost: Double? = { if case .double(let value)? = budgets["max_cost_usd"] { return value }; return budgets["max_cost_usd"]?.intValue.map(Double.init) }()
        let tokens = record.inputTokens + record.outputTokens
        var html = "<div class=\"grid\">"
        html += stat("steps", "\(record.steps)", maxSteps.map(String.init), fraction(Double(record.steps), maxSteps.map(Double.init)))
        html += stat("tokens (\(record.inputTokens) in, \(record.outputTokens) out)", "\(tokens)", maxTokens.map(String.init),
                     fraction(Double(tokens), maxTokens.map(Double.init)))
        html += stat("cost", "$" + String(format: "%.4f", record.costUSD), maxCost.map { "$" + String(format: "%.2f", $0) },
                     fraction(record.costUSD, maxCost))
        if let egressBytes {
            let maxEgress = budgets["max_egress_bytes"]?.intValue
            html += stat("bytes through the egress proxy", "\(egressBytes)", maxEgress.map(String.init),
                         fraction(Double(egressBytes), maxEgress.map(Double.init)))
        }
        if let timeout = budgets["timeout_ms"]?.intValue {
            html += "<div class=\"stat\"><b>\(timeout / 1000) s</b><span>time limit</span></div>"
        }
        let outcome = record.outcome.map { "<span class=\"pill \(HTML.escape($0))\">\(HTML.escape($0))</span> exit \(record.exitCode.map(String.init) ?? "-")" } ?? "—"
        html += "<div class=\"stat\"><b>\(outcome)</b><span>outcome</span></div>"
        let chain = verify.ok
            ? "<span class=\"pill ok\">verified</span>"
            : "<span class=\"pill bad\">broken at #\(verify.firstBadSeq.map(String.init) ?? "?")</span>"
        html += "<div class=\"stat\"><b>\(chain)</b><span>ledger: \(verify.count) entries\(verify.reason.map { " · " + HTML.escape($0) } ?? "")</span></div>"
        return html + "</div>"
    }

    static func ledgerTable(_ entries: [LedgerEntry]) -> String {
        var html = "<details class=\"card\"><summary>All \(entries.count) ledger entries (hash-chained)</summary><table style=\"margin-top:10px\"><thead><tr><th>#</th><th>Time</th><th>Kind</th><th>Payload</th></tr></thead><tbody>"
        for entry in entries {
            html += "<tr><td class=\"num\">\(entry.seq)</td><td class=\"meta\">\(HTML.escape(Timestamps.short(entry.time)))</td>"
                + "<td><code>\(HTML.escape(entry.kind.rawValue))</code></td><td class=\"mono\" style=\"word-break:break-all\">\(HTML.escape(HTML.clip(entry.payloadJSON, 2_000)))</td></tr>"
        }
        return html + "</tbody></table></details>"
    }
}
