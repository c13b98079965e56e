import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// SIGTERM drains a worker: no new claims, the run in progress gets --grace, then it is
/// handed back (`run_handed_back` in the ledger, its claim released) and the worker exits 0; another
/// worker resumes it without re-running the call that was cut short.
@Suite("airlock worker drain", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct WorkerDrainTests {
    @Test("SIGTERM mid-call: handed back after --grace, exit 0; a second worker finishes it; verify passes")
    func drainHandsBack() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("s", [WorkerScene.shell("echo started >> log; sleep 20; echo slept >> log"),
                                           WorkerScene.shell("echo second >> log"), WorkerScene.submit()])
        let id = try await scene.submit("drained", model: model)
        let first = try AirlockProcess(["worker", "--name", "a", "--concurrency", "1", "--lease", "2s", "--grace", "1s",
                                        "--json", "--database", scene.url, "--state-dir", scene.root + "/state-a"])
        defer { first.cleanUp() }
        #expect(await scene.waitForFile("log") { $0.contains("started") }, "the call never started: \(first.stderr)")
        let signalled = ContinuousClock.now
        kill(first.pid, SIGTERM)
        #expect(await first.waitForExit(limit: .seconds(15)), "the worker did not exit after its grace")
        let took = ContinuousClock.now - signalled
        #expect(first.process.terminationStatus == 0, "\(first.stderr)")
        #expect(took >= .seconds(1), "handed back before its grace ran out: \(took)")
        #expect(first.stdout.contains("worker_draining"))
        // Handed back: the last entry says so, and the claim is released for any worker.
        let ledger = try await scene.ledger(id)
        #expect(ledger.last?["kind"] as? String == "run_handed_back", "worker: \(first.stdout) \(first.stderr)")
        #expect(!ledger.contains { $0["kind"] as? String == "run_finished" })

        _ = try scene.worker("b", lease: "2s")
        #expect(try await scene.waitFinished([id], limit: .seconds(60)))
        await scene.stopAll()
        let run = try #require(try await scene.run(id))
        #expect(run["exit_code"] as? Int == 0, "\(run)")
        #expect(scene.file("log") == "started\nsecond\n", "the cut call ran again or the next did not run: \(scene.file("log"))")
        #expect(try await scene.command(["verify", id]).status == 0)
    }
}
