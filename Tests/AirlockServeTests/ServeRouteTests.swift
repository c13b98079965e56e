import AirlockTestSupport
import AirlockCore
@testable import AirlockStoreSQLite
@testable import AirlockServe
import Foundation
import Testing

/// The app on a real loopback listener: pages, the JSON API, answers through the Store,
/// escaping of hostile output, and the guards (Host, token, cross-site).
@Suite("airlock serve: pages, API, escaping, auth", .timeLimit(.minutes(1)))
struct ServeRouteTests {
    static let csrf = "test-csrf-token"
    static var identity: String { "web:\(ServeScene.user)@127.0.0.1" }

    func withServer(token: String? = nil, _ body: (ServeScene, LiveServer) async throws -> Void) async throws {
        let scene = try await ServeScene()
        defer { scene.remove() }
        let server = try await LiveServer.start(scene.app(token: token, csrf: Self.csrf))
        do {
            try await body(scene, server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("the runs page lists the run as paused, with steps, tokens and a link to the approvals")
    func runsPage() async throws {
        try await withServer { scene, server in
            let page = try await Web.get(server.base + "/")
            #expect(page.status == 200)
            #expect(page.header("content-type")?.hasPrefix("text/html") == true)
            #expect(page.body.contains(">\(scene.run)</a>"))
            #expect(page.body.contains("<span class=\"pill paused\">paused</span>"))
            #expect(page.body.contains("<td class=\"num\">150</td>"), "input + output tokens")
            #expect(page.body.contains("1 call is waiting for approval"))
        }
    }

    @Test("a run's page: model turns, tool calls with arguments, outputs, policy decisions, the question, budgets and ledger status")
    func transcriptPage() async throws {
        try await withServer { scene, server in
            let page = try await Web.get(server.base + "/runs/" + scene.run)
            #expect(page.status == 200)
            for piece in ["touch done.txt", "cat notes.html", "<span class=\"pill ask\">ask</span>", "ask-touch",
                          "touching needs a nod", "asked a human (approver <code>web</code>)", "120 in + 30 out tokens",
                          "<b>2</b><span>steps of 10</span>", "<span>tokens (120 in, 30 out) of 5000</span>",
                          "<span class=\"pill ok\">verified</span>", "data-decision=\"approve\"", "All 9 ledger entries"] {
                #expect(page.body.contains(piece), "missing \(piece)")
            }
            #expect(try await Web.get(server.base + "/runs/nope").status == 404)
        }
    }

    @Test("hostile output is inert: a <script> in a tool output, a model turn or the task is escaped text, and the CSP allows no inline script")
    func escaping() async throws {
        try await withServer { scene, server in
            for path in ["/", "/runs/" + scene.run, "/approvals"] {
                let page = try await Web.get(server.base + path)
                #expect(page.status == 200)
                #expect(!page.body.contains("<script>window"), "raw script on \(path)")
                #expect(!page.body.contains("<img src=x"), "raw img on \(path)")
                #expect(!page.body.contains("onerror=\"window"), "raw attribute on \(path)")
                // The page's only script is its own file.
                #expect(page.body.components(separatedBy: "<script").count == 2, "one script tag on \(path)")
                let csp = try #require(page.header("content-security-policy"))
                let scriptSource = csp.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("script-src") }
                #expect(scriptSource == "script-src 'self'", "\(csp)")
                #expect(page.header("x-content-type-options") == "nosniff")
            }
            let transcript = try await Web.get(server.base + "/runs/" + scene.run)
            #expect(transcript.body.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;"))
        }
    }

    @Test("an egress request in the transcript: verdict, method, target, bytes and secrets by name, all escaped")
    func egressEntry() throws {
        let payload = #"{"allowed":false,"bytes_down":39,"bytes_up":120,"call":"call_1","duration_ms":3,"host":"<b>evil</b>.test","method":"GET","path":"/x","port":80,"reason":"not on the allow-list","scheme":"http","secrets":["API_TOKEN"]}"#
        let entry = LedgerEntry(run: "r", seq: 9, time: "2026-11-29T16:31:57.000Z", kind: .egressRequest, payloadJSON: payload,
                                prevHash: "", hash: "")
        let html = try #require(TranscriptView.entry(entry))
        #expect(html.contains("refused"))
        #expect(html.contains("&lt;b&gt;evil&lt;/b&gt;.test:80/x"))
        #expect(!html.contains("<b>evil"))
        #expect(html.contains("120 B up") && html.contains("39 B down"))
        #expect(html.contains("API_TOKEN") && html.contains("not on the allow-list"))
    }

    @Test("the approvals page shows the waiting call with Approve, Approve rule and Deny with a reason")
    func approvalsPage() async throws {
        try await withServer { scene, server in
            let page = try await Web.get(server.base + "/approvals")
            #expect(page.status == 200)
            #expect(page.body.contains("data-run=\"\(scene.run)\" data-call=\"\(ServeScene.askedCall)\""))
            for button in ["data-decision=\"approve\"", "data-decision=\"approve_rule\"", "data-decision=\"deny\"", "input class=\"reason\""] {
                #expect(page.body.contains(button))
            }
            #expect(page.body.contains(Self.identity))
            #expect(RunScene.csrf(fromPage: page.body) == Self.csrf)
            #expect(page.body.contains("harness is not running"), "the paused run has no live harness here")
        }
    }

    @Test("the JSON API: runs, one run with its verify status, pending, session")
    func jsonAPI() async throws {
        try await withServer { scene, server in
            let runs = try await Web.get(server.base + "/api/runs").json["runs"] as? [[String: Any]] ?? []
            #expect(runs.first?["id"] as? String == scene.run)
            #expect(runs.first?["status"] as? String == "paused")
            #expect(runs.first?["pending_approvals"] as? Int == 1)
            let detail = try await Web.get(server.base + "/api/runs/" + scene.run).json
            #expect((detail["verify"] as? [String: Any])?["ok"] as? Bool == true)
            #expect((detail["ledger"] as? [Any])?.count == 9)
            let pending = try await Web.get(server.base + "/api/pending").json["pending"] as? [[String: Any]] ?? []
            #expect(pending.count == 1)
            #expect(pending.first?["call"] as? String == ServeScene.askedCall)
            #expect(pending.first?["tool"] as? String == "shell")
            #expect(pending.first?["rule"] as? String == "ask-touch")
            #expect((pending.first?["arguments"] as? [String: Any])?["command"] as? String == "touch done.txt")
            let session = try await Web.get(server.base + "/api/session").json
            #expect(session["csrf"] as? String == Self.csrf)
            #expect(session["identity"] as? String == Self.identity)
            #expect(try await Web.get(server.base + "/api/runs/missing").status == 404)
        }
    }

    @Test("approve with the page's CSRF token: stored as web:USER@127.0.0.1; a second answer is refused")
    func approveThroughTheAPI() async throws {
        try await withServer { scene, server in
            let headers = [("X-Airlock-CSRF", Self.csrf), ("Origin", server.base), ("Sec-Fetch-Site", "same-origin")]
            let reply = try await Web.post(server.base + "/api/approve", json: ["run": scene.run, "call": ServeScene.askedCall],
                                           headers: headers)
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.json["by"] as? String == Self.identity)
            let answer = try #require(try scene.store.approvalAnswer(run: scene.run, call: ServeScene.askedCall))
            #expect(answer.decision == .approve)
            #expect(answer.by == Self.identity)
            let again = try await Web.post(server.base + "/api/deny", json: ["run": scene.run, "call": ServeScene.askedCall],
                                           headers: headers)
            #expect(again.status == 409)
            #expect(try scene.store.approvalAnswer(run: scene.run, call: ServeScene.askedCall)?.decision == .approve)
            let approvals = try await Web.get(server.base + "/approvals")
            #expect(approvals.body.contains("Answered by \(Self.identity)"))
        }
    }

    @Test("deny with a reason, and the refusals: unknown run 404, a call not waiting 409, a bad body 400")
    func denyAndRefusals() async throws {
        try await withServer { scene, server in
            let headers = [("X-Airlock-CSRF", Self.csrf)]
            #expect(try await Web.post(server.base + "/api/approve", json: ["run": "nope", "call": "x"], headers: headers).status == 404)
            #expect(try await Web.post(server.base + "/api/approve", json: ["run": scene.run, "call": "call_1"], headers: headers).status == 409)
            #expect(try await Web.send("POST", server.base + "/api/approve", headers: headers, body: "not json").status == 400)
            let reply = try await Web.post(server.base + "/api/deny",
                                           json: ["run": scene.run, "call": ServeScene.askedCall, "reason": "  not in this repo  "],
                                           headers: headers)
            #expect(reply.status == 200)
            let answer = try #require(try scene.store.approvalAnswer(run: scene.run, call: ServeScene.askedCall))
            #expect(answer.decision == .deny)
            #expect(answer.reason == "not in this repo")
        }
    }

    @Test("cross-site POSTs are refused: no CSRF token, a foreign Origin, Sec-Fetch-Site cross-site; nothing is recorded")
    func crossSite() async throws {
        try await withServer { scene, server in
            let body: [String: Any] = ["run": scene.run, "call": ServeScene.askedCall]
            let attempts: [[(String, String)]] = [
                [],
                [("X-Airlock-CSRF", "guessed")],
                [("X-Airlock-CSRF", Self.csrf), ("Origin", "http://evil.example")],
                [("X-Airlock-CSRF", Self.csrf), ("Origin", "null")],
                [("X-Airlock-CSRF", Self.csrf), ("Sec-Fetch-Site", "cross-site")],
                [("X-Airlock-CSRF", Self.csrf), ("Sec-Fetch-Site", "same-site")],
            ]
            for headers in attempts {
                let reply = try await Web.post(server.base + "/api/approve", json: body, headers: headers)
                #expect(reply.status == 403, "\(headers) → \(reply.status) \(reply.body)")
            }
            #expect(try scene.store.approvalAnswer(run: scene.run, call: ServeScene.askedCall) == nil)
        }
    }

    @Test("without a token, a request naming a non-loopback Host (DNS rebinding) is refused")
    func rebinding() async throws {
        try await withServer { scene, server in
            let reply = try await Web.get(server.base + "/api/runs", headers: [("Host", "attacker.example:\(server.port)")])
            #expect(reply.status == 421)
            #expect(!reply.body.contains(scene.run))
            let local = try await Web.get(server.base + "/api/runs", headers: [("Host", "localhost:\(server.port)")])
            #expect(local.status == 200)
        }
    }

    @Test("with a token: nothing without it; Bearer works (also for POST, no CSRF needed); ?token= sets an HttpOnly SameSite=Strict cookie once")
    func token() async throws {
        let token = "s3cret-token-for-tests"
        try await withServer(token: token) { scene, server in
            let bare = try await Web.get(server.base + "/")
            #expect(bare.status == 401)
            #expect(!bare.body.contains(scene.run))
            #expect(try await Web.get(server.base + "/api/runs", headers: [("Authorization", "Bearer wrong-token")]).status == 401)
            #expect(try await Web.get(server.base + "/approvals?token=wrong-token").status == 401)
            #expect(try await Web.get(server.base + "/", headers: [("Cookie", "airlock_token_\(server.port)=wrong")]).status == 401)

            let bearer = try await Web.get(server.base + "/api/runs", headers: [("Authorization", "Bearer " + token)])
            #expect(bearer.status == 200 && bearer.body.contains(scene.run))

            let once = try await Web.get(server.base + "/approvals?token=" + token)
            #expect(once.status == 303)
            #expect(once.header("location") == "/approvals", "the token leaves the address bar")
            let cookie = try #require(once.header("set-cookie"))
            #expect(cookie.hasPrefix("airlock_token_\(server.port)=\(token)"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let withCookie = try await Web.get(server.base + "/approvals", headers: [("Cookie", "airlock_token_\(server.port)=\(token)")])
            #expect(withCookie.status == 200 && withCookie.body.contains(scene.run))

            // The cookie alone does not make a POST: a browser would attach it to a forged one.
            let forged = try await Web.post(server.base + "/api/approve", json: ["run": scene.run, "call": ServeScene.askedCall],
                                            headers: [("Cookie", "airlock_token_\(server.port)=\(token)")])
            #expect(forged.status == 403)
            let scripted = try await Web.post(server.base + "/api/approve", json: ["run": scene.run, "call": ServeScene.askedCall],
                                              headers: [("Authorization", "Bearer " + token)])
            #expect(scripted.status == 200, "\(scripted.body)")
            #expect(try scene.store.approvalAnswer(run: scene.run, call: ServeScene.askedCall)?.by == Self.identity)
        }
    }

    @Test("configuration: any non-loopback address needs a token; loopback names; tokens must be cookie-safe")
    func configuration() {
        #expect(ServeConfiguration(host: "0.0.0.0", user: "u").problem?.contains("without a token") == true)
        #expect(ServeConfiguration(host: "192.168.1.5", user: "u").problem != nil)
        #expect(ServeConfiguration(host: "::", user: "u").problem != nil)
        #expect(ServeConfiguration(host: "0.0.0.0", token: "long-enough-token", user: "u").problem == nil)
        #expect(ServeConfiguration(host: "127.0.0.1", user: "u").problem == nil)
        #expect(ServeConfiguration(host: "127.0.0.1", token: "a b;c=d", user: "u").problem != nil)
        #expect(ServeConfiguration(host: "127.0.0.1", token: "short", user: "u").problem != nil)
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"] {
            #expect(ServeConfiguration.isLoopback(host), "\(host)")
        }
        for host in ["0.0.0.0", "10.0.0.1", "127.0.0.1.evil.example", "localhost.evil.example", "128.0.0.1", ""] {
            #expect(!ServeConfiguration.isLoopback(host), "\(host)")
        }
        #expect(ServeConfiguration(user: "alice").identity(remoteAddress: "127.0.0.1") == "web:alice@127.0.0.1")
        #expect(ServeGuard.hostName("[::1]:7420") == "::1" && ServeGuard.hostName("localhost:1") == "localhost")
        #expect(ServeGuard.same("abc", "abc") && !ServeGuard.same("abd", "abc") && !ServeGuard.same("ab", "abc") && !ServeGuard.same("abcd", "abc"))
        #expect(HTML.escape("<a href='x'>\"&\"</a>") == "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;")
    }

    @Test("`airlock serve` on a non-loopback address without a token refuses to start (exit 2)",
          .enabled(if: AirlockBinary.path != nil, "needs the built airlock executable beside the tests"))
    func refusesWithoutToken() async throws {
        let scene = try await ServeScene()
        defer { scene.remove() }
        let outcome = try await AirlockProcess.run(["serve", "--host", "0.0.0.0", "--port", "0", "--state-dir", scene.root + "/state"],
                                                   limit: .seconds(20))
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("without a token"), "\(outcome.stderr)")
    }
}
