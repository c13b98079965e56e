import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// A broken runtime is a clear error with exit 5 and a fix, and leaves nothing running.
@Suite("tiers: a missing, failing or hanging runtime",
       .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(1)))
struct TierBadInputTests {
    static func attempt(_ scene: RunScene, _ options: [String], environment: [String: String] = [:]) async throws -> RunBinary.Outcome {
        let model = try scene.script([RunScene.shell("echo hi > hi.txt"), RunScene.submit()])
        return try await scene.run(["--model", model] + options, environment: environment)
    }

    /// A fake runtime: a shell script at `path`.
    static func fakeRuntime(_ scene: RunScene, _ body: String) throws -> String {
        let path = scene.root + "/fake-runsc"
        try Data("#!/bin/sh\n\(body)\n".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        return path
    }

    @Test("a missing runtime: exit 5, the error names it and how to install one")
    func missingRuntime() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let outcome = try await Self.attempt(scene, ["--sandbox", "gvisor", "--runsc", scene.root + "/no-such-runsc"])
        #expect(outcome.status == 5, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("no-such-runsc") && outcome.stderr.contains("apt-get install -y runsc"), "\(outcome.stderr)")
        #expect(scene.file("hi.txt").isEmpty)
    }

    @Test("a runtime that exits at once: exit 5 with what it said, and a fix")
    func exitsAtOnce() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let runsc = try Self.fakeRuntime(scene, "echo 'fake-runsc: unsupported platform' >&2; exit 1")
        let outcome = try await Self.attempt(scene, ["--sandbox", "gvisor", "--runsc", runsc])
        #expect(outcome.status == 5, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("fake-runsc: unsupported platform"), "the runtime's own words: \(outcome.stderr)")
        #expect(outcome.stderr.contains("fix:"), "\(outcome.stderr)")
    }

    @Test("a runtime that hangs: the start times out, exit 5, and the hung process is killed")
    func hangs() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let marker = "3000." + DurabilityHost.uniqueFraction()
        let runsc = try Self.fakeRuntime(scene, "exec sleep \(marker)")
        let began = ContinuousClock.now
        let outcome = try await Self.attempt(scene, ["--sandbox", "gvisor", "--runsc", runsc],
                                             environment: ["AIRLOCK_START_TIMEOUT": "2"])
        #expect(outcome.status == 5, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(ContinuousClock.now - began < .seconds(40), "the timeout held")
        #expect(outcome.stderr.contains("did not start"), "\(outcome.stderr)")
        let gone = await DurabilityHost.waitUntilGone(marker, limit: .seconds(5))
        #expect(gone, "the hung runtime is still running: \(DurabilityHost.matching(marker))")
    }

    @Test("an unknown tier is a usage error (exit 2) listing the tiers")
    func unknownTier() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let outcome = try await Self.attempt(scene, ["--sandbox", "firecracker"])
        #expect(outcome.status == 2 || outcome.status == 64, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("bwrap") && outcome.stderr.contains("landlock"), "\(outcome.stderr)")
    }
}

@Suite("tiers: doctor's ladder", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct DoctorLadderTests {
    @Test("doctor --json lists every tier tried for real, auto's choice among the working ones, a fix for each that fails")
    func ladder() async throws {
        let outcome = try await RunBinary.run(["doctor", "--json", "--runsc", "/nonexistent/runsc"], limit: .seconds(90))
        let report = try #require((try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) as? [String: Any],
                                  "doctor --json: \(outcome.stdout) \(outcome.stderr)")
        let tiers = try #require(report["tiers"] as? [[String: Any]])
        #expect(Set(tiers.compactMap { $0["tier"] as? String }) == ["gvisor", "bwrap", "oci", "landlock"])
        let gvisor = try #require(tiers.first { $0["tier"] as? String == "gvisor" })
        #expect(gvisor["works"] as? Bool == false, "a runsc that does not exist cannot work")
        #expect((gvisor["fix"] as? String)?.contains("runsc") == true, "\(gvisor)")
        #expect(gvisor["in_auto"] as? Bool == false)
        for tier in tiers where tier["works"] as? Bool == false {
            #expect(tier["fix"] as? String != nil, "a failing tier names its fix: \(tier)")
        }
        let working = tiers.filter { $0["works"] as? Bool == true && $0["in_auto"] as? Bool == true }.compactMap { $0["tier"] as? String }
        let order = ["bwrap", "oci", "landlock"]
        #expect(report["backend"] as? String == order.first { working.contains($0) }, "auto takes the first working tier: \(report)")
    }
}
