import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// An `airlock` process the test drives while it runs: output to files, killed by pid.
typealias DurabilityHarness = AirlockProcess

extension AirlockProcess {
    /// Waits for the process to end; kills it (and records an issue) after `limit`.
    @discardableResult
    func wait(limit: Duration = .seconds(30)) async -> (reason: Process.TerminationReason, status: Int32) {
        if !(await waitForExit(limit: limit)) {
            Issue.record("airlock \(process.arguments ?? []) did not end within \(limit); killed it")
        }
        return (reason, status)
    }
}

enum DurabilityHost {
    /// Host pids whose command line contains `marker` (this test process excluded).
    static func matching(_ marker: String) -> [Int32] { HostProcesses.matching(marker) }

    /// Waits until no host process carries `marker`; true when none is left.
    static func waitUntilGone(_ marker: String, limit: Duration) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if matching(marker).isEmpty { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return matching(marker).isEmpty
    }

    static func killAll(_ marker: String) {
        for pid in matching(marker) { kill(pid, SIGKILL) }
    }

    /// A decimal fraction no other process on the host has in its command line.
    static func uniqueFraction() -> String {
        String(UInt32.random(in: 100_000...999_999)) + String(getpid() % 1000)
    }
}

extension RunScene {
    /// The scene with its workspace at mode 0755 (the sandbox's uid must reach it).
    static func make() throws -> RunScene {
        let scene = try RunScene()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scene.root)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scene.workspace)
        return scene
    }

    func harness(_ arguments: [String], environment: [String: String] = [:]) throws -> DurabilityHarness {
        try DurabilityHarness(arguments + ["--state-dir", stateDir], environment: environment)
    }

    /// `runs --json`, one object per run.
    func runs() async throws -> [[String: Any]] {
        let outcome = try await command(["runs", "--json"])
        #expect(outcome.status == 0, "runs --json: \(outcome.stderr)")
        return outcome.objects.compactMap { $0 }
    }

    func status(of run: String) async throws -> String? {
        try await runs().first { $0["id"] as? String == run }?["status"] as? String
    }

    /// The run's ledger as `show --json` prints it.
    func ledger(_ run: String) async throws -> [[String: Any]] {
        let show = try await command(["show", run, "--json"])
        #expect(show.status == 0, "show --json: \(show.stderr)")
        let record = (show.objects.first ?? nil) ?? [:]
        return record["ledger"] as? [[String: Any]] ?? []
    }

    func file(_ name: String) -> String {
        String(decoding: FileManager.default.contents(atPath: workspace + "/" + name) ?? Data(), as: UTF8.self)
    }
}

extension [String: Any] {
    var kind: String? { self["kind"] as? String }
    var payload: [String: Any] { self["payload"] as? [String: Any] ?? [:] }
}

@Suite("durability: a SIGKILLed harness, a held run, a dead harness's sandbox, replay",
       .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(1)))
struct DurabilityCLITests {
    static let killPoints = ["model_request", "model_stream", "model_response", "tool_dispatch", "tool_output", "tool_result"]

    @Test("SIGKILL at each fault point, then resume: the run finishes, verifies, and no side effect repeats",
          arguments: killPoints)
    func killAndResume(point: String) async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        var turns: [[String: Any]] = (1...4).map { k in
            ["text": "appending line \(k)",
             "tool_calls": [["name": "shell", "arguments": ["command": "echo call-\(k) >> log.txt; echo out"]]]]
        }
        turns.append(["text": "all appended", "tool_calls": [["name": "submit", "arguments": ["answer": "appended"]]]])
        let model = try scene.script(turns)

        let harness = try scene.harness(["run", "append four lines", "--model", model, "--workspace", scene.workspace, "--json"],
                                        environment: ["AIRLOCK_FAULT_KILL_AT": "\(point):2"])
        defer { harness.cleanUp() }
        let end = await harness.wait()
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL,
                "\(point): expected death by SIGKILL, got \(end.reason) \(end.status); stderr: \(harness.stderr)")
        let started = harness.stdout.split(separator: "\n").lazy
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .first { $0["type"] as? String == "run_started" }
        let runID = try #require(started?["run"] as? String, "no run_started; stdout: \(harness.stdout)")
        #expect(try await scene.status(of: runID) == "interrupted")

        let resumed = try await scene.command(["resume", runID])
        #expect(resumed.status == 0, "\(point): resume: \(resumed.stdout) \(resumed.stderr)")
        #expect(resumed.stdout.contains("appended"), "\(point): the answer: \(resumed.stdout)")
        #expect(try await scene.status(of: runID) == "finished")
        let verify = try await scene.command(["verify", runID])
        #expect(verify.status == 0, "\(point): verify: \(verify.stdout) \(verify.stderr)")

        let ledger = try await scene.ledger(runID)
        try #require(!ledger.isEmpty)
        #expect(ledger.contains { $0.kind == "run_resumed" })
        // Which call's outcome is unknown: its command names its line.
        let commandByCall = Dictionary(ledger.filter { $0.kind == "tool_call_proposed" }.compactMap { entry -> (String, String)? in
            guard let call = entry.payload["call"] as? String, let arguments = entry.payload["arguments"] as? String else { return nil }
            return (call, arguments)
        }, uniquingKeysWith: { first, _ in first })
        let interrupted = ledger.filter { $0.kind == "tool_result" && $0.payload["status"] as? String == "interrupted" }
            .compactMap { $0.payload["call"] as? String }
        let interruptedLines = Set((1...4).filter { k in interrupted.contains { commandByCall[$0]?.contains("call-\(k) ") == true } })
        switch point {
        case "tool_output", "tool_result":
            #expect(interruptedLines == [2], "\(point): the interrupted call is call 2; got \(interrupted)")
        default:
            #expect(interrupted.isEmpty, "\(point): no tool call was in flight; got \(interrupted)")
        }

        let lines = scene.file("log.txt").split(separator: "\n").map(String.init)
        for k in 1...4 {
            let count = lines.filter { $0 == "call-\(k)" }.count
            if interruptedLines.contains(k) {
                #expect(count <= 1, "\(point): call-\(k) appended \(count) times: \(lines)")
            } else {
                #expect(count == 1, "\(point): call-\(k) appended \(count) times: \(lines)")
            }
        }
        #expect(lines.count <= 4 && lines.count >= 3, "\(point): \(lines)")

        // Both attempts of an interrupted model call stay recorded. A response is staged
        // until the entries of its first action commit with it (one fsync), so a harness
        // killed in between (model_response, tool_dispatch) makes that model call again.
        let requestsForStep2 = ledger.filter { $0.kind == "model_request" && $0.payload["step"] as? Int == 2 }.count
        if ["model_request", "model_stream", "model_response", "tool_dispatch"].contains(point) {
            #expect(requestsForStep2 == 2, "\(point): model_request entries for step 2: \(requestsForStep2)")
        } else {
            #expect(requestsForStep2 == 1, "\(point): model_request entries for step 2: \(requestsForStep2)")
        }
        // Every step answered once; the model made five calls in all (four shells, one submit).
        #expect(ledger.filter { $0.kind == "model_response" }.count == 5, "\(point)")
    }

    @Test("a resume killed in turn is resumed again: still no line appended twice")
    func killTheResumeToo() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script((1...4).map { RunScene.shell("echo call-\($0) >> log.txt; echo out") } + [RunScene.submit("twice")])
        let first = try scene.harness(["run", "append", "--model", model, "--workspace", scene.workspace],
                                      environment: ["AIRLOCK_FAULT_KILL_AT": "tool_output:2"])
        defer { first.cleanUp() }
        let firstEnd = await first.wait()
        #expect(firstEnd.reason == .uncaughtSignal && firstEnd.status == SIGKILL, "\(first.stderr)")
        let runID = try #require(try await scene.runs().first?["id"] as? String)
        // The resume dies at its first tool output: call 3 (call 2 is not run again).
        let second = try scene.harness(["resume", runID], environment: ["AIRLOCK_FAULT_KILL_AT": "tool_output"])
        defer { second.cleanUp() }
        let secondEnd = await second.wait()
        #expect(secondEnd.reason == .uncaughtSignal && secondEnd.status == SIGKILL, "\(second.stderr)")
        #expect(try await scene.status(of: runID) == "interrupted")
        let third = try await scene.command(["resume", runID])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("twice"))
        #expect(scene.file("log.txt") == "call-1\ncall-2\ncall-3\ncall-4\n", "\(scene.file("log.txt"))")
        let ledger = try await scene.ledger(runID)
        #expect(ledger.filter { $0.kind == "run_resumed" }.count == 2)
        #expect(ledger.filter { $0.kind == "tool_result" && $0.payload["status"] as? String == "interrupted" }.count == 2)
        let verify = try await scene.command(["verify", runID])
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    @Test("a read-only call in flight when the harness died is run again on resume")
    func readOnlyCallIsRerun() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([
            RunScene.shell("echo hello > r.txt"),
            ["tool_calls": [["name": "read_file", "arguments": ["path": "r.txt"]]]],
            RunScene.submit("read"),
        ])
        let harness = try scene.harness(["run", "read", "--model", model, "--workspace", scene.workspace],
                                        environment: ["AIRLOCK_FAULT_KILL_AT": "tool_result:2"])
        defer { harness.cleanUp() }
        let end = await harness.wait()
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL, "\(harness.stderr)")
        let runID = try #require(try await scene.runs().first?["id"] as? String)
        let resumed = try await scene.command(["resume", runID])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let ledger = try await scene.ledger(runID)
        let results = ledger.filter { $0.kind == "tool_result" }.map(\.payload)
        #expect(results.count == 2, "\(results)")
        #expect(!results.contains { $0["status"] as? String == "interrupted" })
        #expect(results.last?["content"] as? String == "hello\n", "the re-run read: \(results)")
        // Its frame went out twice: once from each harness.
        let readCall = results.last?["call"] as? String
        #expect(ledger.filter { $0.kind == "frame_sent" && $0.payload["call"] as? String == readCall }.count == 2)
    }

    @Test("resume refuses a run a live harness holds, takes it once that harness is SIGKILLed, and refuses a finished run")
    func resumeRefusesAHeldRun() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let marker = "30." + DurabilityHost.uniqueFraction()
        defer { DurabilityHost.killAll(marker) }
        let model = try scene.script([RunScene.shell("echo begun > begun.txt; sleep \(marker)"), RunScene.submit("resumed fine")])
        let harness = try scene.harness(["run", "hold the run", "--model", model, "--workspace", scene.workspace, "--json"])
        defer { harness.cleanUp() }
        let inCall = await harness.waitForOutput { $0.contains("\"type\":\"tool_call\"") }
        try #require(inCall, "the run never reached its tool call; stdout: \(harness.stdout) stderr: \(harness.stderr)")
        let started = harness.stdout.split(separator: "\n").lazy
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .first { $0["type"] as? String == "run_started" }
        let runID = try #require(started?["run"] as? String)
        #expect(try await scene.status(of: runID) == "running")

        let refused = try await scene.command(["resume", runID])
        #expect(refused.status != 0, "resume of a held run: \(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("live harness") && refused.stderr.contains(String(harness.pid)),
                "the message says who holds it: \(refused.stderr)")
        #expect(harness.process.isRunning, "the refused resume left the first harness alone")

        kill(harness.pid, SIGKILL)
        let end = await harness.wait(limit: .seconds(5))
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL)
        #expect(try await scene.status(of: runID) == "interrupted")

        let resumed = try await scene.command(["resume", runID])
        #expect(resumed.status == 0, "resume after the holder died: \(resumed.stdout) \(resumed.stderr)")
        #expect(resumed.stdout.contains("resumed fine"))
        #expect(try await scene.status(of: runID) == "finished")

        let again = try await scene.command(["resume", runID])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already finished"), "a finished run: \(again.stderr)")
    }

    @Test("the sandbox of a SIGKILLed harness is gone: no process it started survives on the host")
    func deadHarnessLeavesNoSandbox() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let marker = "300." + DurabilityHost.uniqueFraction()
        defer { DurabilityHost.killAll(marker) }
        let model = try scene.script([RunScene.shell("sleep \(marker) & echo started"), RunScene.submit()])
        let harness = try scene.harness(["run", "start a sleeper", "--model", model, "--workspace", scene.workspace, "--json"],
                                        environment: ["AIRLOCK_FAULT_KILL_AT": "tool_output"])
        defer { harness.cleanUp() }
        let end = await harness.wait()
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL, "stderr: \(harness.stderr)")
        let gone = await DurabilityHost.waitUntilGone(marker, limit: .seconds(3))
        #expect(gone, "processes of the dead harness's sandbox survive: \(DurabilityHost.matching(marker))")

        // And the run goes on without starting the sleeper again.
        let runID = try #require(try await scene.runs().first?["id"] as? String)
        let resumed = try await scene.command(["resume", runID])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(DurabilityHost.matching(marker).isEmpty)
    }

    @Test("replay: a snapshotted run replays the same; an altered snapshot shows the call that differs")
    func replaySnapshot() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        try "original\n".write(toFile: scene.workspace + "/input.txt", atomically: true, encoding: .utf8)
        let model = try scene.script([
            RunScene.shell("echo made > made.txt; cat made.txt"),
            RunScene.shell("cat input.txt"),
            ["tool_calls": [["name": "read_file", "arguments": ["path": "made.txt"]]]],
            RunScene.submit(),
        ])
        let run = try await scene.run(["--model", model, "--json", "--snapshot-workspace"])
        #expect(run.status == 0, "\(run.stderr)")
        let runID = try #require((run.objects.first ?? nil)?["run"] as? String)
        // The run changed the workspace; the snapshot is how it started.
        try "changed after the run\n".write(toFile: scene.workspace + "/input.txt", atomically: true, encoding: .utf8)

        let same = try await scene.command(["replay", runID])
        #expect(same.status == 0, "replay: \(same.stdout) \(same.stderr)")
        #expect(same.stdout.contains("3 calls replayed, 0 different"), "\(same.stdout)")

        let snapshot = scene.stateDir + "/snapshots/" + runID
        #expect(FileManager.default.fileExists(atPath: snapshot + "/input.txt"))
        try "altered\n".write(toFile: snapshot + "/input.txt", atomically: true, encoding: .utf8)
        let different = try await scene.command(["replay", runID])
        #expect(different.status == 1, "replay after altering: \(different.stdout) \(different.stderr)")
        #expect(different.stdout.contains("1 different"), "\(different.stdout)")
        let callLines = different.stdout.split(separator: "\n").filter { $0.contains(" shell: ") || $0.contains(" read_file: ") }
        #expect(callLines.count == 3, "\(different.stdout)")
        #expect(callLines.filter { $0.contains("DIFFERENT") }.count == 1)
        #expect(callLines.count == 3 && callLines[1].contains("DIFFERENT"), "the second call (cat input.txt) differs: \(different.stdout)")
        #expect(different.stdout.contains("altered"), "shows what it replayed: \(different.stdout)")

        let json = try await scene.command(["replay", runID, "--json"])
        #expect(json.status == 1)
        let objects = json.objects.compactMap { $0 }
        #expect(objects.filter { $0["type"] as? String == "call" && $0["same"] as? Bool == false }.count == 1)
        #expect(objects.last?["differences"] as? Int == 1, "\(json.stdout)")
    }

    @Test("replay without a snapshot needs --workspace (exit 2), and runs on the one it is given")
    func replayWithoutSnapshot() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        try "original\n".write(toFile: scene.workspace + "/input.txt", atomically: true, encoding: .utf8)
        let model = try scene.script([RunScene.shell("cat input.txt; echo made > made.txt"), RunScene.submit()])
        let run = try await scene.run(["--model", model, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let runID = try #require((run.objects.first ?? nil)?["run"] as? String)

        let refused = try await scene.command(["replay", runID])
        #expect(refused.status == 2, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("--workspace") && refused.stderr.contains("--snapshot-workspace"), "\(refused.stderr)")

        let start = scene.root + "/start"
        try FileManager.default.createDirectory(atPath: start, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try "original\n".write(toFile: start + "/input.txt", atomically: true, encoding: .utf8)
        let replayed = try await scene.command(["replay", runID, "--workspace", start])
        #expect(replayed.status == 0, "\(replayed.stdout) \(replayed.stderr)")
        #expect(replayed.stdout.contains("1 calls replayed, 0 different"), "\(replayed.stdout)")
        #expect(!FileManager.default.fileExists(atPath: start + "/made.txt"), "the named workspace is copied, not changed")
    }
}
