/// The frame every page shares: header with navigation, inline stylesheet, and our one
/// script (served from /app.js, the only script the Content-Security-Policy allows).
enum Layout {
    static func page(title: String, active: String, body: String, csrf: String = "", pending: Int? = nil) -> String {
        func nav(_ path: String, _ label: String, _ key: String) -> String {
            "<a href=\"\(path)\"\(key == active ? " class=\"active\"" : "")>\(label)</a>"
        }
        let badge = pending.map { $0 > 0 ? " <span class=\"count\">\($0)</span>" : "" } ?? ""
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="airlock-csrf" content="\(HTML.escape(csrf))">
        <title>\(HTML.escape(title)) · airlock</title>
        <style>\(stylesheet)</style>
        <script src="/app.js" defer></script>
        </head><body>
        <header><span class="brand">airlock</span>
        <nav>\(nav("/", "Runs", "runs"))\(nav("/approvals", "Approvals" + badge, "approvals"))</nav></header>
        <main>\(body)</main>
        </body></html>
        """
    }

    static let stylesheet = """
    :root{--ink:#1d2430;--muted:#5f6b7a;--line:#e3e7ee;--bg:#f6f7f9;--card:#fff;--accent:#2456d6;
    --ok:#1f7a4d;--okbg:#e5f5ec;--warn:#8a5a00;--warnbg:#fff4dc;--bad:#b42318;--badbg:#fdecea;--code:#0f1623}
    *{box-sizing:border-box}
    body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
    header{display:flex;align-items:center;gap:28px;padding:12px 28px;background:var(--code);color:#fff}
    .brand{font-weight:700;letter-spacing:.04em}
    nav a{color:#c9d3e3;text-decoration:none;margin-right:18px;padding:4px 0}
    nav a.active,nav a:hover{color:#fff;border-bottom:2px solid #7aa2ff}
    main{max-width:1120px;margin:0 auto;padding:24px 28px 60px}
    h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 10px}
    .sub{color:var(--muted);margin:0 0 20px}
    .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin:0 0 14px}
    table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
    th,td{text-align:left;padding:9px 12px;border-bottom:1px solid var(--line);vertical-align:top}
    th{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);background:#fafbfc}
    tr:last-child td{border-bottom:0}
    td.num{text-align:right;font-variant-numeric:tabular-nums}
    a{color:var(--accent)}
    code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:13px}
    pre{background:var(--code);color:#e6edf3;padding:10px 12px;border-radius:8px;overflow:auto;white-space:pre-wrap;word-break:break-word;margin:8px 0 0;max-height:420px}
    .pill{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;background:#eef1f6;color:var(--muted)}
    .pill.finished,.pill.allow,.pill.approve,.pill.approve_rule,.pill.submitted,.pill.ok{background:var(--okbg);color:var(--ok)}
    .pill.paused,.pill.ask,.pill.running{background:var(--warnbg);color:var(--warn)}
    .pill.interrupted,.pill.deny,.pill.terminate,.pill.bad{background:var(--badbg);color:var(--bad)}
    .count{background:#e5484d;color:#fff;border-radius:999px;padding:0 7px;font-size:12px;margin-left:4px}
    .entry{display:grid;grid-template-columns:110px 1fr;gap:14px;padding:12px 0;border-top:1px solid var(--line)}
    .entry:first-child{border-top:0}
    .who{font-size:12px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
    .who small{display:block;font-weight:400;text-transform:none;letter-spacing:0}
    .entry.model .who{color:#6b3fd6}.entry.tool .who{color:var(--accent)}.entry.policy .who,.entry.human .who{color:var(--warn)}
    .entry.human{background:#fffaf0;margin:0 -18px;padding:12px 18px}
    .entry.end .who{color:var(--ok)}
    .meta{color:var(--muted);font-size:13px}
    .approval{border-left:4px solid #f0b429}
    .actions{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-top:12px}
    button{font:inherit;font-weight:600;border:1px solid var(--line);background:#fff;border-radius:8px;padding:6px 14px;cursor:pointer}
    button.approve{background:var(--ok);border-color:var(--ok);color:#fff}
    button.rule{border-color:var(--ok);color:var(--ok)}
    button.deny{border-color:var(--bad);color:var(--bad)}
    button:disabled{opacity:.5;cursor:default}
    input.reason{font:inherit;padding:6px 10px;border:1px solid var(--line);border-radius:8px;min-width:240px;flex:1}
    .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-bottom:14px}
    .stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 14px}
    .stat b{display:block;font-size:19px}.stat span{color:var(--muted);font-size:12px}
    .bar{height:6px;background:#eef1f6;border-radius:3px;margin-top:6px;overflow:hidden}.bar i{display:block;height:100%;background:var(--accent)}
    .empty{color:var(--muted);text-align:center;padding:28px}
    .status{margin-left:8px;color:var(--muted)}
    details summary{cursor:pointer;color:var(--muted)}
    """
}
