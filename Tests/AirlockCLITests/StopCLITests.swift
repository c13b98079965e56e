import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// `airlock stop` of a local `airlock run` (SQLite state dir), from another shell.
@Suite("airlock stop", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(1)))
struct StopCLITests {
    @Test("stop a local run sleeping in a tool call: the sandboxed process is gone, exit 4, who and why in the ledger")
    func stopLocalRun() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let marker = "40.\(UInt32.random(in: 100_000...999_999))"
        let model = try scene.script([RunScene.shell("echo started > started.txt; sleep \(marker)"), RunScene.submit()])
        let harness = try scene.harness(["run", "sleepy", "--model", model, "--workspace", scene.workspace, "--json"])
        defer { harness.cleanUp() }
        let end = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < end, !FileManager.default.fileExists(atPath: scene.workspace + "/started.txt") {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!HostProcesses.matching("sleep \(marker)").isEmpty, "the call never started: \(harness.stderr)")
        let stop = try await scene.command(["stop", "latest", "--reason", "changed my mind"])
        #expect(stop.status == 0, "\(stop.stdout) \(stop.stderr)")
        let (_, status) = await harness.wait(limit: .seconds(10))
        #expect(status == 4, "run exit \(status): \(harness.stderr)")
        #expect(HostProcesses.matching("sleep \(marker)").isEmpty, "the sandboxed sleep survived")
        let run = try #require(try await scene.runs().first)
        let ledger = try await scene.ledger(run["id"] as? String ?? "")
        let stopped = ledger.first { $0["kind"] as? String == "run_stopped" }?["payload"] as? [String: Any]
        #expect(stopped?["reason"] as? String == "changed my mind")
        #expect(ledger.last?["kind"] as? String == "run_finished")
        #expect(try await scene.command(["verify", "latest"]).status == 0)
        let again = try await scene.command(["stop", "latest"])
        #expect(again.status == 1 && again.stdout.contains("already finished"), "\(again.stdout)")
    }
}
