import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// The end-to-end run tests, once per isolation tier present on this host: the same
/// scripted runs through `airlock run --sandbox TIER`, no copies per tier. A tier the host
/// lacks prints why it was skipped.
@Suite("tiers: every isolation tier passes the end-to-end run tests",
       .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(3)))
struct TierRunTests {
    static func run(_ scene: RunScene, _ tier: TierUnderTest, _ options: [String],
                    environment: [String: String] = [:]) async throws -> RunBinary.Outcome {
        try await RunBinary.run(["run", "do the task", "--workspace", scene.workspace, "--state-dir", scene.stateDir,
                                 "--sandbox", tier.sandbox] + options,
                                environment: tier.environment.merging(environment) { $1 }, limit: .seconds(120))
    }

    static func runID(_ outcome: RunBinary.Outcome) -> String? {
        outcome.objects.compactMap { $0 }.first { $0["type"] as? String == "run_started" }?["run"] as? String
    }

    @Test("a scripted run: files written and read in the sandbox, the ledger names the backend and its version, verify passes",
          arguments: TierUnderTest.all)
    func scriptedRun(tier: TierUnderTest) async throws {
        guard tier.present() else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([
            RunScene.shell("echo tier-\(tier.sandbox) > note.txt && id -u"),
            ["tool_calls": [["name": "read_file", "arguments": ["path": "note.txt"]]]],
            RunScene.submit("wrote it"),
        ])
        let outcome = try await Self.run(scene, tier, ["--model", model, "--json"])
        #expect(outcome.status == 0, "[\(tier.label)] stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(scene.file("note.txt") == "tier-\(tier.sandbox)\n")
        let run = try #require(Self.runID(outcome), "no run_started: \(outcome.stdout)")
        let ledger = try await scene.ledger(run)
        let started = ledger.filter { $0.kind == "sandbox_started" }
        #expect(!started.isEmpty)
        for entry in started {
            #expect(entry.payload["backend"] as? String == tier.backend, "[\(tier.label)] \(entry.payload)")
            let version = entry.payload["backend_version"] as? String ?? ""
            #expect(version.hasPrefix(tier.versionPrefix), "[\(tier.label)] version: \(version)")
        }
        // Per-call resource figures on every tier: wall time, CPU and peak memory of the shell call.
        let shell = ledger.first { $0.kind == "tool_result" && $0.payload["exit_code"] as? Int == 0 }
        #expect((shell?.payload["wall_ms"] as? Double ?? 0) > 0, "[\(tier.label)] wall time: \(shell?.payload ?? [:])")
        #expect((shell?.payload["max_rss_kb"] as? Int ?? 0) > 0, "[\(tier.label)] peak memory: \(shell?.payload ?? [:])")
        #expect(shell?.payload["user_cpu_ms"] != nil && shell?.payload["system_cpu_ms"] != nil)
        let read = ledger.first { $0.kind == "tool_result" && ($0.payload["content"] as? String ?? "").contains("tier-") }
        #expect(read != nil, "[\(tier.label)] read_file saw the file the shell wrote")
        let verify = try await scene.command(["verify", run])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
    }

    @Test("budgets: --max-steps 1 with a two-step script ends with exit 3", arguments: TierUnderTest.all)
    func budget(tier: TierUnderTest) async throws {
        guard tier.present() else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([RunScene.shell("echo one >> steps.txt"), RunScene.shell("echo two >> steps.txt"),
                                      RunScene.submit()])
        let outcome = try await Self.run(scene, tier, ["--model", model, "--max-steps", "1"])
        #expect(outcome.status == 3, "[\(tier.label)] \(outcome.stdout) \(outcome.stderr)")
        #expect(scene.file("steps.txt") == "one\n", "[\(tier.label)] only the allowed step ran")
    }

    @Test("a call past --call-timeout is killed with its children; the run goes on; nothing of it stays on the host",
          arguments: TierUnderTest.all)
    func callTimeout(tier: TierUnderTest) async throws {
        guard tier.present() else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let marker = "3000." + DurabilityHost.uniqueFraction()
        let model = try scene.script([
            RunScene.shell("sleep \(marker) & sleep \(marker)"),
            RunScene.shell("echo after > after.txt"),
            RunScene.submit(),
        ])
        let harness = try scene.harness(["run", "t", "--model", model, "--workspace", scene.workspace, "--sandbox", tier.sandbox,
                                         "--call-timeout", "2s", "--json"], environment: tier.environment)
        defer { harness.cleanUp() }
        let end = await harness.wait(limit: .seconds(90))
        #expect(end.status == 0, "[\(tier.label)] \(harness.stdout) \(harness.stderr)")
        #expect(scene.file("after.txt") == "after\n", "[\(tier.label)] the run went on after the timeout")
        let gone = await DurabilityHost.waitUntilGone(marker, limit: .seconds(10))
        #expect(gone, "[\(tier.label)] the timed-out call's processes survive: \(DurabilityHost.matching(marker))")
        #expect(TierHost.descendants(of: harness.pid).isEmpty, "[\(tier.label)] the harness left processes behind")
    }

    @Test("a sandbox killed from outside mid-call is replaced and the run finishes", arguments: TierUnderTest.all)
    func deadSandboxReplaced(tier: TierUnderTest) async throws {
        guard tier.present() else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([
            RunScene.shell("echo started > started.txt; sleep 30"),
            RunScene.shell("echo again > again.txt"),
            RunScene.submit(),
        ])
        let harness = try scene.harness(["run", "t", "--model", model, "--workspace", scene.workspace,
                                         "--sandbox", tier.sandbox, "--json"], environment: tier.environment)
        defer { harness.cleanUp() }
        let deadline = ContinuousClock.now + .seconds(60)
        while scene.file("started.txt").isEmpty && ContinuousClock.now < deadline && harness.process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(TierHost.killSandbox(of: harness.pid) > 0, "[\(tier.label)] found the sandbox's processes to kill")
        let end = await harness.wait(limit: .seconds(90))
        #expect(end.status == 0, "[\(tier.label)] \(harness.stdout) \(harness.stderr)")
        #expect(scene.file("again.txt") == "again\n")
        let run = try #require(harness.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }.first { $0["type"] as? String == "run_started" }?["run"] as? String)
        let ledger = try await scene.ledger(run)
        #expect(ledger.contains { $0.kind == "sandbox_replaced" }, "[\(tier.label)] the replacement is recorded")
        #expect(ledger.filter { $0.kind == "sandbox_started" }.count >= 2)
    }

    @Test("a harness SIGKILLed mid-run leaves nothing running; resume finishes on the same tier", arguments: TierUnderTest.all)
    func resumeAfterKill(tier: TierUnderTest) async throws {
        guard tier.present() else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let marker = "3000." + DurabilityHost.uniqueFraction()
        let model = try scene.script([
            RunScene.shell("echo one >> log.txt; (sleep \(marker) &) ; true"),
            RunScene.shell("echo two >> log.txt"),
            RunScene.submit("both"),
        ])
        let harness = try scene.harness(["run", "t", "--model", model, "--workspace", scene.workspace,
                                         "--sandbox", tier.sandbox, "--json"],
                                        environment: tier.environment.merging(["AIRLOCK_FAULT_KILL_AT": "tool_result:2"]) { $1 })
        defer { harness.cleanUp() }
        let end = await harness.wait(limit: .seconds(90))
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL, "[\(tier.label)] \(harness.stderr)")
        let gone = await DurabilityHost.waitUntilGone(marker, limit: .seconds(15))
        #expect(gone, "[\(tier.label)] the dead harness's sandbox left \(DurabilityHost.matching(marker)) running")
        let run = try #require(try await scene.runs().first?["id"] as? String)
        let resumed = try await RunBinary.run(["resume", run, "--state-dir", scene.stateDir], environment: tier.environment,
                                              limit: .seconds(90))
        #expect(resumed.status == 0, "[\(tier.label)] resume: \(resumed.stdout) \(resumed.stderr)")
        #expect(scene.file("log.txt") == "one\ntwo\n", "[\(tier.label)] log: \(scene.file("log.txt"))")
        let backends = Set(try await scene.ledger(run).filter { $0.kind == "sandbox_started" }.compactMap { $0.payload["backend"] as? String })
        #expect(backends == [tier.backend], "[\(tier.label)] resume kept the tier: \(backends)")
    }

    @Test("egress goes through the proxy; a secret is a placeholder inside and reaches only its host",
          arguments: TierUnderTest.all)
    func egressAndSecret(tier: TierUnderTest) async throws {
        guard tier.present() else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        try TierClient.script.write(toFile: scene.workspace + "/client.py", atomically: true, encoding: .utf8)
        let certificates = try TestCertificates()
        try certificates.caPEM.write(toFile: scene.root + "/upstream-ca.pem", atomically: true, encoding: .utf8)
        let secret = "sk-tier-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let tls = try certificates.serverContext(for: ["secret.test"])
        let plain = try await TestHTTPServer.start([.json(#"{"plain":"reached"}"#)])
        defer { Task { await plain.shutdown() } }
        try await TestHTTPServer.with([.json(#"{"auth":"seen"}"#)], tls: tls) { server in
            let model = try scene.script([
                RunScene.shell("python3 client.py http://plain.test:\(plain.port)/hello > plain.out 2>&1; cat plain.out"),
                RunScene.shell("python3 client.py https://secret.test:\(server.port)/api 'Authorization: Bearer $API_TOKEN' > secret.out 2>&1; cat secret.out"),
                RunScene.shell("printf %s \"$API_TOKEN\" > token.txt"),
                RunScene.submit(),
            ])
            let options = ["--model", model, "--json",
                           "--allow-host", "plain.test:\(plain.port)", "--allow-host", "secret.test:\(server.port)",
                           "--resolve", "plain.test:127.0.0.1", "--resolve", "secret.test:127.0.0.1",
                           "--secret", "API_TOKEN", "--secret-host", "API_TOKEN=secret.test:\(server.port)",
                           "--upstream-ca", scene.root + "/upstream-ca.pem"]
            let outcome = try await Self.run(scene, tier, options, environment: ["API_TOKEN": secret])
            #expect(outcome.status == 0, "[\(tier.label)] \(outcome.stdout) \(outcome.stderr)")
            #expect(scene.file("plain.out").contains("reached"), "[\(tier.label)] plain: \(scene.file("plain.out"))")
            #expect(plain.requests.contains { $0.uri == "/hello" }, "[\(tier.label)] the plain host was reached")
            #expect(scene.file("secret.out").contains("seen"), "[\(tier.label)] secret: \(scene.file("secret.out"))")
            let placeholder = scene.file("token.txt")
            #expect(!placeholder.isEmpty && placeholder != secret, "[\(tier.label)] inside, the secret is a placeholder")
            let request = server.requests.first { $0.uri == "/api" }
            #expect(request?.header("authorization") == "Bearer \(secret)", "[\(tier.label)] the secret's host got the value")
            for file in try FileManager.default.subpathsOfDirectory(atPath: scene.stateDir) {
                let data = FileManager.default.contents(atPath: scene.stateDir + "/" + file) ?? Data()
                #expect(data.range(of: Data(secret.utf8)) == nil, "[\(tier.label)] the secret is in the state dir: \(file)")
            }
        }
    }
}
