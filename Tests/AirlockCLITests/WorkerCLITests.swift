import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// `airlock submit` and `airlock worker` on a real PostgreSQL server, real sandboxes and a
/// scripted model; workers killed, frozen and thawed for real.
@Suite("airlock worker", .serialized, .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(3)))
struct WorkerCLITests {
    @Test("three workers, twenty queued runs: each run finishes once, each call ran once, every ledger verifies")
    func threeWorkersTwentyRuns() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        var ids: [String] = []
        for index in 0..<20 {
            let model = try scene.script("s\(index)", [WorkerScene.shell("echo run-\(index) >> calls.log"), WorkerScene.submit("ok \(index)")])
            let workspace = scene.workspace + "/\(index)"
            try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o777])
            ids.append(try await scene.submit("task \(index)", model: model, ["--workspace", workspace]))
        }
        #expect(Set(ids).count == 20)
        let workers = try (1...3).map { try scene.worker("w\($0)", concurrency: 2) }
        let finished = try await scene.waitFinished(ids, limit: .seconds(120))
        await scene.stopAll()
        let states = try await scene.runs().map { "\($0["id"] ?? "") \($0["status"] ?? "")" }
        #expect(finished, "not every run finished: \(states)")
        for worker in workers { #expect(worker.status == 0, "worker exit \(worker.status): \(worker.stderr)") }
        // Each run appended one line to its own workspace's log: exactly once.
        for index in 0..<20 {
            #expect(scene.file("\(index)/calls.log") == "run-\(index)\n", "run \(index): \(scene.file("\(index)/calls.log"))")
        }
        let runs = try await scene.runs()
        for id in ids {
            let run = try #require(runs.first { $0["id"] as? String == id })
            #expect(run["exit_code"] as? Int == 0 && run["outcome"] as? String == "submitted", "\(run)")
        }
        let verify = try await scene.command(["verify", "--all", "--json"])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
        // Every run was claimed exactly once (no takeover was needed) and by one of the three.
        let claimedBy = Set(workers.flatMap { $0.stdout.split(separator: "\n") }
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["type"] as? String == "run_claimed" }.compactMap { $0["run"] as? String })
        #expect(claimedBy == Set(ids))
    }

    @Test("SIGKILL a worker mid-call: another takes the run over after the lease, does not re-run the call, finishes; verify passes")
    func sigkillMidCallIsTakenOver() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("s", [WorkerScene.shell("echo started >> log; sleep 4; echo slept >> log"),
                                           WorkerScene.shell("echo second >> log"), WorkerScene.submit()])
        let id = try await scene.submit("interrupted", model: model)
        let first = try scene.worker("a", lease: "1s")
        #expect(await scene.waitForFile("log") { $0.contains("started") }, "the first call never started: \(first.stderr)")
        kill(first.pid, SIGKILL)
        _ = await first.waitForExit(limit: .seconds(5))
        let second = try scene.worker("b", lease: "1s")
        let finished = try await scene.waitFinished([id], limit: .seconds(60))
        await scene.stopAll()
        #expect(finished, "b: \(second.stdout) \(second.stderr)")
        #expect(scene.file("log") == "started\nsecond\n", "the interrupted call ran again or the next did not run: \(scene.file("log"))")
        let run = try #require(try await scene.run(id))
        #expect(run["exit_code"] as? Int == 0, "\(run)")
        let ledger = try await scene.ledger(id)
        let claims = ledger.filter { $0["kind"] as? String == "run_claimed" }
        #expect(claims.count == 2)
        #expect((claims.last?["payload"] as? [String: Any])?["worker"] as? String == "b")
        let interrupted = ledger.contains { ($0["kind"] as? String) == "tool_result"
            && (($0["payload"] as? [String: Any])?["status"] as? String) == "interrupted" }
        #expect(interrupted, "the model was not told the call's outcome is unknown")
        #expect(try await scene.command(["verify", id]).status == 0)
    }

    @Test("SIGSTOP a worker past its lease, another takes over, SIGCONT: the woken worker writes nothing and starts no call")
    func frozenWorkerWakesFenced() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("s", [WorkerScene.shell("echo started >> log; sleep 2; echo one >> log"),
                                           WorkerScene.shell("echo two >> log"), WorkerScene.submit()])
        let id = try await scene.submit("frozen", model: model)
        let frozen = try scene.worker("frozen", lease: "1s")
        #expect(await scene.waitForFile("log") { $0.contains("started") })
        kill(frozen.pid, SIGSTOP)
        let other = try scene.worker("other", lease: "1s")
        let finished = try await scene.waitFinished([id], limit: .seconds(60))
        #expect(finished, "other: \(other.stderr)")
        let before = try await scene.ledger(id)
        let logBefore = scene.file("log")
        kill(frozen.pid, SIGCONT)
        // Long enough for the woken worker to get its call's answer and try to go on.
        try await Task.sleep(for: .seconds(3))
        let after = try await scene.ledger(id)
        #expect(after.count == before.count, "the woken worker wrote to the ledger")
        #expect(scene.file("log") == logBefore, "the woken worker ran something")
        // The interrupted call ran at most once (its sandbox may have been killed), the next once.
        // A freeze stops the harness, not the call it had already started, so that call's
        // last line may land before or after the other worker's next call.
        let lines = logBefore.split(separator: "\n").map(String.init)
        #expect(lines.first == "started" && lines.filter { $0 == "started" }.count == 1
                && lines.filter { $0 == "two" }.count == 1 && lines.filter { $0 == "one" }.count <= 1
                && lines.count <= 3, "log: \(logBefore)")
        #expect(frozen.stdout.contains("run_detached") && frozen.stdout.contains("taken over"), "frozen: \(frozen.stdout) \(frozen.stderr)")
        await scene.stopAll()
        #expect(try await scene.command(["verify", id]).status == 0)
    }

    @Test("PostgreSQL restarted in the middle of a run: the worker reconnects and the run finishes, nothing lost or doubled")
    func postgresRestartMidRun() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("s", [WorkerScene.shell("echo a >> log; sleep 2"), WorkerScene.shell("echo b >> log"),
                                           WorkerScene.shell("echo c >> log"), WorkerScene.submit()])
        let id = try await scene.submit("restart", model: model)
        let worker = try scene.worker("w", lease: "10s")
        #expect(await scene.waitForFile("log") { $0.contains("a") })
        try scene.server.restart(immediate: true)
        let finished = try await scene.waitFinished([id], limit: .seconds(60))
        await scene.stopAll()
        #expect(finished, "worker: \(worker.stderr)")
        #expect(scene.file("log") == "a\nb\nc\n")
        let run = try #require(try await scene.run(id))
        #expect(run["exit_code"] as? Int == 0, "\(run) \(worker.stderr)")
        #expect(try await scene.command(["verify", id]).status == 0)
    }

    @Test("airlock stop of a run sleeping in a tool call, from another shell: the sandboxed process is gone and the run ends with exit 4")
    func stopSleepingCall() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let marker = "30.\(UInt32.random(in: 100_000...999_999))"
        let model = try scene.script("s", [WorkerScene.shell("echo started >> log; sleep \(marker)"), WorkerScene.submit()])
        let id = try await scene.submit("sleepy", model: model)
        let worker = try scene.worker("w")
        #expect(await scene.waitForFile("log") { $0.contains("started") })
        #expect(!HostProcesses.matching("sleep \(marker)").isEmpty)
        let began = ContinuousClock.now
        let stop = try await scene.command(["stop", id, "--reason", "enough", "--json"])
        let took = ContinuousClock.now - began
        #expect(stop.status == 0, "stop: \(stop.stdout) \(stop.stderr)")
        print("airlock stop of a worker's run: ended \(took) after the command started (process start included)")
        #expect(HostProcesses.matching("sleep \(marker)").isEmpty, "the sandboxed sleep survived the stop")
        let run = try #require(try await scene.run(id))
        #expect(run["exit_code"] as? Int == 4 && run["outcome"] as? String == "terminated", "\(run) \(worker.stderr)")
        let stopped = try await scene.ledger(id).first { $0["kind"] as? String == "run_stopped" }
        let payload = stopped?["payload"] as? [String: Any]
        #expect(payload?["reason"] as? String == "enough" && (payload?["by"] as? String)?.isEmpty == false)
        await scene.stopAll()
        #expect(try await scene.command(["verify", id]).status == 0)
    }

    @Test("a queued run nobody can serve stays queued; stopping it ends it at once")
    func unservableRunStaysQueuedAndStops() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("s", [WorkerScene.submit()])
        let id = try await scene.submit("needs a key", model: model, ["--secret-env", "AIRLOCK_TEST_ABSENT_KEY"])
        _ = try scene.worker("w")
        try await Task.sleep(for: .seconds(1))
        let queued = try #require(try await scene.run(id))
        #expect(queued["status"] as? String == "queued")
        #expect((queued["waiting"] as? String)?.contains("AIRLOCK_TEST_ABSENT_KEY") == true, "\(queued)")
        let stop = try await scene.command(["stop", id])
        #expect(stop.status == 0, "\(stop.stderr)")
        let run = try #require(try await scene.run(id))
        #expect(run["status"] as? String == "finished" && run["exit_code"] as? Int == 4)
        await scene.stopAll()
        #expect(try await scene.command(["verify", id]).status == 0)
    }
}
