/// `/approvals`: every call any run is waiting on, with its buttons.
enum ApprovalsPage {
    static func render(_ pending: [PendingApproval], identity: String, csrf: String) -> String {
        var body = """
        <h1>Pending approvals</h1>
        <p class="sub">Answers are recorded in each run's ledger as <code>\(HTML.escape(identity))</code>. \
        This page refreshes itself while calls are waiting.</p>
        """
        if pending.isEmpty {
            body += "<div class=\"card empty\" data-refresh=\"5\">Nothing is waiting for approval.</div>"
        } else {
            body += "<div data-refresh=\"5\"></div>"
            body += pending.map { ApprovalCard.render($0, showRun: true) }.joined()
        }
        return Layout.page(title: "Approvals", active: "approvals", body: body, csrf: csrf, pending: pending.count)
    }
}
