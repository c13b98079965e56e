import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// The real `airlock` binary on a busybox image: import, ls, inspect, exec, a scripted run
/// whose ledger names the image, show, replay refusing another image, rm.
@Suite(.serialized) struct ImageCLITests {
    /// What a finished `airlock` left: its status and output (its output files are removed).
    struct Finished {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func airlock(_ arguments: [String]) async throws -> Finished {
        let process = try AirlockProcess(arguments)
        defer { process.cleanUp() }
        let ended = await process.waitForExit(limit: .seconds(120))
        #expect(ended, "airlock \(arguments.joined(separator: " ")) hung")
        return Finished(status: process.status, stdout: process.stdout, stderr: process.stderr)
    }

    @Test func importExecRunShowAndRemove() async throws {
        guard AirlockProcess.binaryPath != nil, access("/bin/busybox", X_OK) == 0 else {
            print("skipping: the airlock binary or /bin/busybox (busybox-static) is missing")
            return
        }
        let fixture = try ImageFixture("cli")
        defer { fixture.remove() }
        var extra = TarBuilder()
        extra.directory("srv/")
        let layout = try fixture.writeLayout("bb", layers: [try ImageFixture.busyboxLayer(), extra.archive],
                                             config: ImageFixture.Config(env: ["PATH=/bin:/usr/bin", "FROM_IMAGE=yes"], workingDir: "/srv"))
        let state = fixture.directory + "/state"
        let workspace = fixture.directory + "/ws"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)

        let imported = try await Self.airlock(["image", "import", "oci:\(layout.path):latest", "--name", "bb", "--state-dir", state])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains(layout.digest))
        let listed = try await Self.airlock(["image", "ls", "--json", "--state-dir", state])
        #expect(listed.stdout.contains(layout.digest) && listed.stdout.contains("\"bb\""))
        let inspected = try await Self.airlock(["image", "inspect", "bb", "--json", "--state-dir", state])
        #expect(inspected.stdout.contains("\"working_dir\":\"/srv\"") && inspected.stdout.contains("FROM_IMAGE=yes"), "\(inspected.stdout)")

        let exec = try await Self.airlock(["exec", "--image", "bb", "--state-dir", state, "--workspace", workspace, "--",
                                           "sh", "-c", "cat /etc/os-release; pwd; echo $FROM_IMAGE; test -e /usr/lib/x86_64-linux-gnu/libc.so.6 && echo LEAK; true"])
        #expect(exec.status == 0, "\(exec.stderr)")
        #expect(exec.stdout.contains("airlock-test-busybox") && exec.stdout.contains("/srv\nyes"), "\(exec.stdout)")
        #expect(!exec.stdout.contains("LEAK"))

        let script = fixture.directory + "/script.json"
        try #"{"turns": [{"tool_calls": [{"name": "shell", "arguments": {"command": "echo pip-like > /usr/bin/installed && cat /usr/bin/installed && pwd"}}]}, {"tool_calls": [{"name": "submit", "arguments": {"answer": "done"}}]}]}"#
            .write(toFile: script, atomically: true, encoding: .utf8)
        let run = try await Self.airlock(["run", "use the image", "--model", "script:\(script)", "--image", "bb",
                                          "--workspace", workspace, "--state-dir", state, "--json"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.stdout.contains("pip-like"), "\(run.stdout)")
        #expect(run.stdout.contains("\"image\":\"\(layout.digest)\""), "sandbox_started must name the digest: \(run.stdout)")
        let shown = try await Self.airlock(["show", "latest", "--state-dir", state])
        #expect(shown.stdout.contains("image \(layout.digest)"), "\(shown.stdout)")
        // The install went to the sandbox's copy only.
        let store = state + "/images/sha256/" + layout.digest.dropFirst(7) + "/rootfs"
        #expect(access(store + "/usr/bin/installed", F_OK) != 0)

        let other = fixture.directory + "/other-root"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        let replay = try await Self.airlock(["replay", "latest", "--image", "dir:\(other)", "--state-dir", state])
        #expect(replay.status == 2 && replay.stderr.contains("refuses a different image"), "\(replay.stderr)")

        let removed = try await Self.airlock(["image", "rm", "bb", "--state-dir", state])
        #expect(removed.status == 0)
        #expect(access(store, F_OK) != 0)
        let missing = try await Self.airlock(["exec", "--image", "bb", "--state-dir", state, "--workspace", workspace, "--", "true"])
        #expect(missing.status == 125 && missing.stderr.contains("no image named 'bb'"), "\(missing.stderr)")
    }

    @Test func aResumedRunKeepsItsImage() async throws {
        guard AirlockProcess.binaryPath != nil, access("/bin/busybox", X_OK) == 0 else {
            print("skipping: the airlock binary or /bin/busybox (busybox-static) is missing")
            return
        }
        let fixture = try ImageFixture("resume")
        defer { fixture.remove() }
        let layout = try fixture.writeLayout("bb", layers: [try ImageFixture.busyboxLayer()])
        let state = fixture.directory + "/state"
        let workspace = fixture.directory + "/ws"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        let script = fixture.directory + "/script.json"
        let call = #"{"tool_calls": [{"name": "shell", "arguments": {"command": "cat /etc/os-release"}}]}"#
        try #"{"turns": [\#(call), \#(call), \#(call), {"tool_calls": [{"name": "submit", "arguments": {"answer": "ok"}}]}]}"#
            .write(toFile: script, atomically: true, encoding: .utf8)
        let killed = try AirlockProcess(["run", "read the os", "--model", "script:\(script)", "--image", "oci:\(layout.path)",
                                         "--workspace", workspace, "--state-dir", state, "--json"],
                                        environment: ["AIRLOCK_FAULT_KILL_AT": "tool_output:2"])
        defer { killed.cleanUp() }
        await killed.waitForExit(limit: .seconds(120))
        #expect(killed.reason == .uncaughtSignal, "the fault did not kill the run: \(killed.stderr)")
        #expect(killed.stdout.contains("\"image\":\"\(layout.digest)\""), "run_started names the image: \(killed.stdout)")
        let resumed = try await Self.airlock(["resume", "latest", "--state-dir", state])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let shown = try await Self.airlock(["show", "latest", "--json", "--state-dir", state])
        let document = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        let ledger = document?["ledger"] as? [[String: Any]] ?? []
        let starts = ledger.filter { $0["kind"] as? String == "sandbox_started" }.map { ($0["payload"] as? [String: Any])?["image"] as? String }
        #expect(starts.count >= 2 && starts.allSatisfy { $0 == layout.digest }, "\(starts)")
        // The call made after the resume ran in the image too (the interrupted one is recorded as such).
        let resumedAt = try #require(ledger.firstIndex { $0["kind"] as? String == "run_resumed" })
        let after = ledger[resumedAt...].filter { $0["kind"] as? String == "tool_result" }
            .compactMap { ($0["payload"] as? [String: Any])?["stdout"] as? String }
        #expect(!after.isEmpty && after.allSatisfy { $0.contains("airlock-test-busybox") }, "\(after)")
    }
}
