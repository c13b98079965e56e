/// One pending approval with its buttons. The buttons post to /api/approve and /api/deny
/// through /app.js; every value in it is escaped, attributes included.
enum ApprovalCard {
    static func render(_ pending: PendingApproval, showRun: Bool) -> String {
        let run = HTML.escape(pending.run), call = HTML.escape(pending.call)
        var meta = ["call <code>\(call)</code>", "asked \(HTML.escape(Timestamps.short(pending.askedAt)))"]
        if let rule = pending.rule { meta.append("rule <code>\(HTML.escape(rule))</code>") }
        if showRun {
            meta.insert("run <a href=\"/runs/\(HTML.pathSegment(pending.run))\">\(run)</a> · \(HTML.escape(String(pending.task.prefix(80))))", at: 0)
        }
        var notes = ""
        if !pending.harnessAlive {
            notes += "<p class=\"meta\">The run's harness is not running: an answer given now is taken when it is resumed (<code>airlock resume \(run)</code>).</p>"
        }
        if let by = pending.answeredBy {
            notes += "<p class=\"meta\">Answered by \(HTML.escape(by)); waiting for the run to take the answer.</p>"
        }
        let disabled = pending.answeredBy == nil ? "" : " disabled"
        if let budget = pending.budget {
            return budgetCard(pending, budget: budget, meta: meta, notes: notes, disabled: disabled)
        }
        return """
        <section class="card approval" data-run="\(run)" data-call="\(call)">
        <div class="meta">\(meta.joined(separator: " · "))</div>
        <h2><code>\(HTML.escape(pending.tool))</code> · \(HTML.escape(pending.reason))</h2>
        \(ArgumentsView.render(pending.arguments))
        \(notes)
        <div class="actions">
        <button class="approve" data-decision="approve"\(disabled)>Approve</button>
        <button class="rule" data-decision="approve_rule" title="Approve this call and every later call this rule asks about in this run"\(disabled)>Approve rule</button>
        <input class="reason" type="text" placeholder="Reason for a denial (the model is told)" aria-label="reason"\(disabled)>
        <button class="deny" data-decision="deny"\(disabled)>Deny</button>
        <span class="status" role="status"></span>
        </div>
        </section>
        """
    }

    /// A budget that ran out: extend it by an amount, let it stop the run, or end the run.
    static func budgetCard(_ pending: PendingApproval, budget: String, meta: [String], notes: String,
                           disabled: String) -> String {
        let unit = ["steps": "steps", "tokens": "tokens", "cost": "USD", "time": "seconds", "egress": "bytes"][budget] ?? ""
        return """
        <section class="card approval budget" data-run="\(HTML.escape(pending.run))" data-call="\(HTML.escape(pending.call))">
        <div class="meta">\(meta.joined(separator: " · "))</div>
        <h2>\(HTML.escape(budget)) budget ran out · \(HTML.escape(pending.reason))</h2>
        \(notes)
        <div class="actions">
        <input class="amount" type="number" min="0" step="any" placeholder="amount (\(HTML.escape(unit)))" aria-label="extend by"\(disabled)>
        <button class="extend" data-decision="extend"\(disabled)>Extend</button>
        <input class="reason" type="text" placeholder="Reason (optional)" aria-label="reason"\(disabled)>
        <button class="deny" data-decision="deny" title="Do not extend: the run ends as out of budget (exit 3)"\(disabled)>Don't extend</button>
        <button class="terminate" data-decision="terminate" title="End the run now (exit 4)"\(disabled)>End run</button>
        <span class="status" role="status"></span>
        </div>
        </section>
        """
    }
}
