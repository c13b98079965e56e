import AirlockTestSupport
import AirlockCore
import Foundation
import Glibc
import Testing

/// The whole path with real processes and a real sandbox: `airlock run --approver web`
/// pauses on an `ask`, its harness is SIGKILLed, `airlock resume` waits again, `airlock
/// serve` shows the call, and the same POST the page's button makes lets the run finish.
@Suite("airlock serve end to end", .enabled(if: AirlockBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct ServeEndToEndTests {
    @Test("kill the harness while it waits, resume, approve over HTTP: exit 0, the ledger names the web identity, verify passes")
    func approveOverHTTP() async throws {
        let scene = try RunScene(turns: [RunScene.shell("touch approved.txt"), RunScene.submit("done")])
        defer { scene.remove() }
        let first = try AirlockProcess(scene.runArguments("touch a file"))
        defer { first.cleanUp() }
        #expect(await first.waitForOutput { $0.contains("approval_requested") }, "no approval was asked: \(first.stderr)")
        kill(first.pid, SIGKILL)
        await first.wait()
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/approved.txt"))

        let second = try AirlockProcess(["resume", "latest", "--state-dir", scene.stateDir, "--approver", "web", "--json"])
        defer { second.cleanUp() }
        #expect(await second.waitForOutput { $0.contains("approval_requested") }, "the resumed run did not ask again: \(second.stderr)")

        let serve = try AirlockProcess(["serve", "--port", "0", "--state-dir", scene.stateDir])
        defer { serve.cleanUp() }
        let port = try #require(await serve.servedPort(), "serve printed no URL: \(serve.stdout) \(serve.stderr)")
        let base = "http://127.0.0.1:\(port)"

        // What the button does: read the page's CSRF token, post the card's run and call.
        let page = try await Web.get(base + "/approvals")
        #expect(page.status == 200)
        let csrf = try #require(RunScene.csrf(fromPage: page.body))
        let pending = try await Web.get(base + "/api/pending").json["pending"] as? [[String: Any]] ?? []
        let run = try #require(pending.first?["run"] as? String, "nothing pending: \(pending)")
        let call = try #require(pending.first?["call"] as? String)
        #expect(page.body.contains("data-run=\"\(run)\" data-call=\"\(call)\""))
        let reply = try await Web.post(base + "/api/approve", json: ["run": run, "call": call],
                                       headers: [("X-Airlock-CSRF", csrf), ("Origin", base), ("Sec-Fetch-Site", "same-origin")])
        #expect(reply.status == 200, "\(reply.body)")
        let identity = "web:\(ServeScene.user)@127.0.0.1"
        #expect(reply.json["by"] as? String == identity)

        #expect(await second.wait(limit: .seconds(30)) == 0, "\(second.stderr)")
        #expect(FileManager.default.fileExists(atPath: scene.workspace + "/approved.txt"))
        let shown = try await AirlockProcess.run(["show", run, "--json", "--state-dir", scene.stateDir])
        let record = (try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) as? [String: Any] ?? [:]
        let ledger = record["ledger"] as? [[String: Any]] ?? []
        let answered = ledger.filter { $0["kind"] as? String == "approval_answered" }.compactMap { $0["payload"] as? [String: Any] }
        #expect(answered.contains { $0["by"] as? String == identity && $0["decision"] as? String == "approve" },
                "approval_answered entries: \(answered)")
        #expect(try await AirlockProcess.run(["verify", run, "--state-dir", scene.stateDir]).status == 0)
        // The page now shows the finished run and who approved.
        let transcript = try await Web.get(base + "/runs/" + run)
        #expect(transcript.body.contains("by <b>\(identity)</b>"))
        #expect(transcript.body.contains("<span class=\"pill finished\">finished</span>"))
    }
}
