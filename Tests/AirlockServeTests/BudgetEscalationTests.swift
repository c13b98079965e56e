import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// `on_budget_exhausted: ask` through real processes: a run out of steps pauses, its harness
/// is SIGKILLed and resumed, the page's Extend button (its POST) adds a step, the second
/// exhaustion is refused, and the ledger records question, answer, who and the new limit.
@Suite("budget escalation over HTTP", .enabled(if: AirlockBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct BudgetEscalationTests {
    @Test("extended once from the page, refused the second time: exit 3, the ledger verifies")
    func extendThenRefuse() async throws {
        let scene = try RunScene(turns: [RunScene.shell("echo one > one.txt"), RunScene.shell("echo two > two.txt"),
                                         RunScene.shell("echo three > three.txt"), RunScene.submit()])
        defer { scene.remove() }
        try "on_budget_exhausted: ask\n".write(toFile: scene.policy, atomically: true, encoding: .utf8)
        let first = try AirlockProcess(scene.runArguments("write files") + ["--max-steps", "1"])
        defer { first.cleanUp() }
        #expect(await first.waitForOutput { $0.contains("approval_requested") }, "no budget question: \(first.stderr)")
        // The pause survives its harness, like any other.
        kill(first.pid, SIGKILL)
        await first.wait()
        let second = try AirlockProcess(["resume", "latest", "--state-dir", scene.stateDir, "--approver", "web", "--json"])
        defer { second.cleanUp() }
        #expect(await second.waitForOutput { $0.contains("approval_requested") }, "the resumed run did not ask again: \(second.stderr)")

        let serve = try AirlockProcess(["serve", "--port", "0", "--state-dir", scene.stateDir])
        defer { serve.cleanUp() }
        let port = try #require(await serve.servedPort(), "serve printed no URL: \(serve.stdout) \(serve.stderr)")
        let base = "http://127.0.0.1:\(port)"
        let headers = { (csrf: String) in [("X-Airlock-CSRF", csrf), ("Origin", base), ("Sec-Fetch-Site", "same-origin")] }

        let page = try await Web.get(base + "/approvals")
        let csrf = try #require(RunScene.csrf(fromPage: page.body))
        let pending = try await Web.get(base + "/api/pending").json["pending"] as? [[String: Any]] ?? []
        let run = try #require(pending.first?["run"] as? String, "nothing pending: \(pending)")
        #expect(pending.first?["call"] as? String == "budget-1")
        #expect(pending.first?["budget"] as? String == "steps")
        #expect(page.body.contains("class=\"card approval budget\" data-run=\"\(run)\" data-call=\"budget-1\""))
        #expect(page.body.contains("data-decision=\"extend\""))
        // A plain approve is not an answer to a budget question.
        let bare = try await Web.post(base + "/api/approve", json: ["run": run, "call": "budget-1"], headers: headers(csrf))
        #expect(bare.status == 400, "\(bare.body)")
        let extended = try await Web.post(base + "/api/approve", json: ["run": run, "call": "budget-1", "extend": 1],
                                          headers: headers(csrf))
        #expect(extended.status == 200, "\(extended.body)")
        #expect(extended.json["decision"] as? String == "extend")

        // One more step runs, then the budget is out again: refused this time.
        #expect(await second.waitForOutput { $0.components(separatedBy: "approval_requested").count > 2 },
                "no second budget question: \(second.stdout) \(second.stderr)")
        #expect(FileManager.default.fileExists(atPath: scene.workspace + "/one.txt"))
        let denied = try await Web.post(base + "/api/deny", json: ["run": run, "call": "budget-2", "reason": "enough"],
                                        headers: headers(csrf))
        #expect(denied.status == 200, "\(denied.body)")
        #expect(await second.wait(limit: .seconds(30)) == 3, "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/three.txt"))

        let shown = try await AirlockProcess.run(["show", run, "--json", "--state-dir", scene.stateDir])
        let record = (try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) as? [String: Any] ?? [:]
        let ledger = record["ledger"] as? [[String: Any]] ?? []
        let kinds = ledger.compactMap { $0["kind"] as? String }
        let identity = "web:\(ServeScene.user)@127.0.0.1"
        let extensions = ledger.filter { $0["kind"] as? String == "budget_extended" }.compactMap { $0["payload"] as? [String: Any] }
        #expect(extensions.count == 1, "budget_extended entries: \(extensions)")
        #expect(extensions.first?["by"] as? String == identity)
        #expect((extensions.first?["limit"] as? NSNumber)?.doubleValue == 2)
        #expect((extensions.first?["previous"] as? NSNumber)?.doubleValue == 1)
        // Question, answer and new limit are written before the next model request.
        let extendedAt = try #require(kinds.firstIndex(of: "budget_extended"))
        let answeredAt = try #require(kinds.firstIndex(of: "approval_answered"))
        #expect(answeredAt < extendedAt)
        #expect(kinds[extendedAt...].dropFirst().first == "model_request", "after the extension: \(kinds[extendedAt...])")
        let answers = ledger.filter { $0["kind"] as? String == "approval_answered" }.compactMap { $0["payload"] as? [String: Any] }
        #expect(answers.contains { $0["call"] as? String == "budget-2" && $0["decision"] as? String == "deny" && $0["by"] as? String == identity })
        #expect(try await AirlockProcess.run(["verify", run, "--state-dir", scene.stateDir]).status == 0)
    }
}
