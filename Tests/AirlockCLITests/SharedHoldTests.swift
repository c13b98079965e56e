import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// A run started with `airlock run` on PostgreSQL, seen from another machine (another state
/// dir: its lock files are not there). Its harness holds the run on the database's clock, so
/// the other machine neither calls it interrupted nor resumes it while it lives.
@Suite("a local run in PostgreSQL, seen from another machine",
       .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(3)))
struct SharedHoldTests {
    @Test("live: running there and resume refused; SIGKILLed: interrupted there once the hold lapses, and resumed there without re-running the cut call")
    func holdAcrossMachines() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("hold", [WorkerScene.shell("echo start >> log.txt; sleep 60; echo end >> log.txt"),
                                              WorkerScene.shell("echo after >> log.txt"), WorkerScene.submit()])
        let harness = try AirlockProcess(["run", "hold the run", "--model", model, "--workspace", scene.workspace, "--json",
                                          "--database", scene.url, "--state-dir", scene.root + "/state-A"])
        defer { harness.cleanUp() }
        #expect(await scene.waitForFile("log.txt") { $0.contains("start") }, "the first call never started: \(harness.stderr)")
        let runs = try await scene.runs()
        let id = try #require(runs.first?["id"] as? String, "no run listed")

        // Machine B: the run is live (its hold is), whatever B's own lock files say.
        let seen = try await scene.run(id)
        #expect(seen?["status"] as? String == "running", "seen from B: \(seen ?? [:])")
        #expect(seen?["lease_live"] as? Bool == true, "seen from B: \(seen ?? [:])")
        let refused = try await scene.command(["resume", id])
        #expect(refused.status != 0 && refused.stderr.contains("another machine"), "resume from B: \(refused.stderr)")

        // The harness dies; once its hold lapses, B sees the run interrupted and takes it on.
        kill(harness.pid, SIGKILL)
        #expect(await harness.waitForExit(limit: .seconds(10)))
        var status: String?
        let end = ContinuousClock.now + .seconds(40)
        while ContinuousClock.now < end {
            status = try await scene.run(id)?["status"] as? String
            if status == "interrupted" { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(status == "interrupted", "after the kill, B sees: \(status ?? "nothing")")
        let resumed = try await scene.command(["resume", id, "--json"], limit: .seconds(60))
        #expect(resumed.status == 0, "resume from B: \(resumed.stderr)")
        #expect(scene.file("log.txt") == "start\nafter\n", "the cut call must not run again: \(scene.file("log.txt"))")
        let verify = try await scene.command(["verify", id])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
    }
}
