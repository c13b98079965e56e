import Foundation
import Glibc
import Testing

/// The pause survives the harness: a run waits for approval, its harness is killed, `resume`
/// picks it up, `airlock approve` from another process lets it finish, and the ledger says
/// who approved.
@Suite("airlock approve", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"))
struct ApprovalCLITests {
    @Test("kill the harness while it waits, resume, approve from another shell: the run finishes")
    func pauseSurvivesTheHarness() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        let policy = scene.root + "/policy.yaml"
        try "rules:\n  - program: touch\n    decision: ask\n    reason: touching needs a nod\n"
            .write(toFile: policy, atomically: true, encoding: .utf8)
        let model = try scene.script([RunScene.shell("touch approved.txt"), RunScene.submit("done")])
        let first = try DurabilityHarness(["run", "touch a file", "--model", model, "--workspace", scene.workspace,
                                           "--state-dir", scene.stateDir, "--policy", policy, "--approver", "web", "--json"])
        defer { first.cleanUp() }
        #expect(await first.waitForOutput { $0.contains("approval_requested") }, "no approval was asked: \(first.stderr)")
        let listing = try await scene.command(["approve", "latest"])
        let call = try #require(listing.stdout.split(separator: "\t").first.map(String.init), "nothing pending: \(listing.stdout)")
        kill(first.pid, SIGKILL)
        _ = await first.wait()
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/approved.txt"))

        let second = try DurabilityHarness(["resume", "latest", "--state-dir", scene.stateDir, "--approver", "web", "--json"])
        defer { second.cleanUp() }
        #expect(await second.waitForOutput { $0.contains("approval_requested") }, "the resumed run did not ask again: \(second.stderr)")
        let approved = try await scene.command(["approve", "latest", call])
        #expect(approved.status == 0, "\(approved.stderr)")
        let end = await second.wait(limit: .seconds(30))
        #expect(end.status == 0, "\(second.stderr)")
        #expect(FileManager.default.fileExists(atPath: scene.workspace + "/approved.txt"))

        let shown = try await scene.command(["show", "latest", "--json"])
        #expect(shown.stdout.contains("\"kind\":\"approval_answered\""))
        let who = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
        #expect(shown.stdout.contains("\"by\":\"\(who)\""), "the ledger does not say who approved")
        #expect(try await scene.command(["verify", "latest"]).status == 0)
        // A second answer to the same call is refused.
        #expect(try await scene.command(["deny", "latest", call]).status != 0)
    }

    @Test("a budget question from another shell: approve without --extend is refused, --extend adds a step, --terminate ends it (exit 4)")
    func budgetFromAnotherShell() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        let policy = scene.root + "/policy.yaml"
        try "on_budget_exhausted: ask\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let model = try scene.script([RunScene.shell("echo one > one.txt"), RunScene.shell("echo two > two.txt"),
                                      RunScene.shell("echo three > three.txt"), RunScene.submit("done")])
        let run = try DurabilityHarness(["run", "write", "--model", model, "--workspace", scene.workspace, "--max-steps", "1",
                                         "--state-dir", scene.stateDir, "--policy", policy, "--approver", "web", "--json"])
        defer { run.cleanUp() }
        #expect(await run.waitForOutput { $0.contains("approval_requested") }, "no budget question: \(run.stderr)")
        #expect(try await scene.command(["approve", "latest"]).stdout.hasPrefix("budget-1\t"))
        let bare = try await scene.command(["approve", "latest", "budget-1"])
        #expect(bare.status != 0 && bare.stderr.contains("--extend"), "\(bare.stderr)")
        #expect(try await scene.command(["approve", "latest", "budget-1", "--extend", "-2"]).status != 0)
        let extended = try await scene.command(["approve", "latest", "budget-1", "--extend", "1"])
        #expect(extended.status == 0, "\(extended.stderr)")
        #expect(await run.waitForOutput { $0.components(separatedBy: "approval_requested").count > 2 }, "no second question: \(run.stderr)")
        #expect(try await scene.command(["deny", "latest", "budget-2", "--terminate"]).status == 0)
        let end = await run.wait(limit: .seconds(30))
        #expect(end.status == 4, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: scene.workspace + "/two.txt"))
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/three.txt"))
        let shown = try await scene.command(["show", "latest", "--json"])
        #expect(shown.stdout.contains("\"kind\":\"budget_extended\""))
        #expect(try await scene.command(["verify", "latest"]).status == 0)
    }
}
