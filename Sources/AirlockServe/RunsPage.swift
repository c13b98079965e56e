import Foundation

/// `/`: every run, newest first, with its live state and what it spent.
enum RunsPage {
    static func render(_ runs: [RunView], stateDirectory: String, csrf: String) -> String {
        let pending = runs.reduce(0) { $0 + $1.pending }
        var body = "<h1>Runs</h1><p class=\"sub\">\(runs.count) run\(runs.count == 1 ? "" : "s") in <code>\(HTML.escape(stateDirectory))</code></p>"
        if pending > 0 {
            body += "<section class=\"card approval\"><b>\(pending) call\(pending == 1 ? " is" : "s are") waiting for approval.</b> <a href=\"/approvals\">Answer them →</a></section>"
        }
        guard !runs.isEmpty else {
            body += "<div class=\"card empty\">No runs yet. Start one with <code>airlock run \"TASK\" --approver web …</code></div>"
            return Layout.page(title: "Runs", active: "runs", body: body, csrf: csrf, pending: pending)
        }
        body += """
        <table><thead><tr><th>Run</th><th>Task</th><th>State</th><th>Outcome</th>\
        <th class="num">Steps</th><th class="num">Tokens</th><th class="num">Cost</th><th>Started</th></tr></thead><tbody>
        """
        for run in runs {
            let record = run.record
            var state = "<span class=\"pill \(HTML.escape(run.status))\">\(HTML.escape(run.status))</span>"
            if run.pending > 0 { state += " <span class=\"count\" title=\"waiting for approval\">\(run.pending)</span>" }
            let outcome = record.outcome.map { "<span class=\"pill \(HTML.escape($0))\">\(HTML.escape($0))</span> <span class=\"meta\">exit \(record.exitCode.map(String.init) ?? "-")</span>" } ?? "<span class=\"meta\">—</span>"
            body += """
            <tr><td class="mono"><a href="/runs/\(HTML.pathSegment(record.id))">\(HTML.escape(record.id))</a></td>\
            <td>\(HTML.escape(String(record.task.prefix(120))))<div class="meta">\(HTML.escape(record.model))</div></td>\
            <td>\(state)</td><td>\(outcome)</td><td class="num">\(record.steps)</td>\
            <td class="num">\(record.inputTokens + record.outputTokens)</td>\
            <td class="num">$\(String(format: "%.4f", record.costUSD))</td>\
            <td class="meta">\(HTML.escape(Timestamps.short(record.createdAt)))</td></tr>
            """
        }
        body += "</tbody></table>"
        return Layout.page(title: "Runs", active: "runs", body: body, csrf: csrf, pending: pending)
    }
}
