import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// The run page's Stop button without a browser: the page carries the button and the CSRF
/// token, and the exact request its script sends ends a local `airlock run` sleeping in a
/// tool call with exit 4, the web identity and the reason in the ledger.
@Suite("the Stop button's POST", .enabled(if: AirlockBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct StopButtonTests {
    @Test("the page's POST stops a run mid-call: exit 4, who and why in the ledger, verify passes")
    func stopFromThePage() async throws {
        let scene = try RunScene(turns: [RunScene.shell("echo started > started.txt; sleep 30; echo late > late.txt"),
                                         RunScene.submit()])
        defer { scene.remove() }
        let run = try AirlockProcess(scene.runArguments("sleep"))
        defer { run.cleanUp() }
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: scene.workspace + "/started.txt"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(FileManager.default.fileExists(atPath: scene.workspace + "/started.txt"), "the call never started: \(run.stderr)")

        let serve = try AirlockProcess(["serve", "--port", "0", "--state-dir", scene.stateDir])
        defer { serve.cleanUp() }
        let port = try #require(await serve.servedPort(), "serve printed no URL: \(serve.stderr)")
        let base = "http://127.0.0.1:\(port)"
        let runs = try await AirlockProcess.run(["runs", "--json", "--state-dir", scene.stateDir])
        let id = try #require(runs.stdout.firstMatch(of: /"id":"([^"]+)"/).map { String($0.1) }, "\(runs.stdout)")
        let page = try await Web.get(base + "/runs/" + id)
        #expect(page.body.contains("<p class=\"stop\" data-run=\"\(id)\"><button data-stop>"), "no Stop button on the page")
        let csrf = try #require(RunScene.csrf(fromPage: page.body))
        // Without the page's token the same POST is refused.
        let forged = try await Web.post(base + "/api/runs/\(id)/cancel", json: ["reason": "forged"],
                                        headers: [("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site")])
        #expect(forged.status == 403, "\(forged.body)")
        let started = ContinuousClock.now
        let reply = try await Web.post(base + "/api/runs/\(id)/cancel", json: ["reason": "from the page"],
                                       headers: [("X-Airlock-CSRF", csrf), ("Origin", base), ("Sec-Fetch-Site", "same-origin")])
        #expect(reply.status / 100 == 2, "\(reply.status) \(reply.body)")
        #expect(await run.wait(limit: .seconds(10)) == 4, "\(run.stderr)")
        print("stop from the page: the run ended \(ContinuousClock.now - started) after the POST")
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/late.txt"))

        let shown = try await AirlockProcess.run(["show", id, "--json", "--state-dir", scene.stateDir])
        let record = (try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) as? [String: Any] ?? [:]
        let ledger = record["ledger"] as? [[String: Any]] ?? []
        let stopped = ledger.first { $0["kind"] as? String == "run_stopped" }?["payload"] as? [String: Any]
        #expect(stopped?["reason"] as? String == "from the page")
        #expect(stopped?["by"] as? String == "web:\(ServeScene.user)@127.0.0.1", "\(String(describing: stopped))")
        #expect(try await AirlockProcess.run(["verify", id, "--state-dir", scene.stateDir]).status == 0)
    }
}
