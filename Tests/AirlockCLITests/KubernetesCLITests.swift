import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// `airlock run --sandbox kubernetes` and `airlock exec --sandbox kubernetes` on the test
/// cluster (scripts/k8s-test-cluster.sh; $AIRLOCK_K8S_KUBECONFIG names its kubeconfig).
@Suite("kubernetes: run and exec in a pod through the airlock command", .serialized,
       .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(3)))
struct KubernetesCLITests {
    static var kubeconfig: String? {
        guard let path = ProcessInfo.processInfo.environment["AIRLOCK_K8S_KUBECONFIG"], !path.isEmpty,
              FileManager.default.isReadableFile(atPath: path) else {
            print("skipping: no test cluster (AIRLOCK_K8S_KUBECONFIG unset; scripts/k8s-test-cluster.sh up starts one, scripts/test.sh does it)")
            return nil
        }
        return path
    }

    static let image = ProcessInfo.processInfo.environment["AIRLOCK_K8S_IMAGE"] ?? "docker.io/probe/sandbox:1"

    /// Half a CPU (plus the guest container's 0.2): the test node has 2, shared with the
    /// other Kubernetes suites' pods.
    static func kubeArguments(_ kubeconfig: String, image: String = image) -> [String] {
        ["--sandbox", "kubernetes", "--kubeconfig", kubeconfig, "--image", image, "--cpus", "0.5"]
    }

    /// `airlock run TASK --json` on a pod, handed back once its first tool call is in flight,
    /// with the run's id (the harness is cleaned up here if it never gets there).
    static func runInCall(_ scene: RunScene, _ task: String, model: String,
                          kubeconfig: String) async throws -> (DurabilityHarness, String) {
        let harness = try scene.harness(["run", task, "--model", model, "--workspace", scene.workspace, "--json"]
                                        + kubeArguments(kubeconfig))
        let inCall = await harness.waitForOutput(limit: .seconds(60)) { $0.contains("\"type\":\"tool_call\"") }
        let run = harness.stdout.split(separator: "\n").lazy
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .first { $0["type"] as? String == "run_started" }?["run"] as? String
        let said = "the run never reached its tool call; stdout: \(harness.stdout) stderr: \(harness.stderr)"
        if !inCall || run == nil { harness.cleanUp() }
        try #require(inCall, "\(said)")
        return (harness, try #require(run, "\(said)"))
    }

    /// Sandbox pods of the test namespace, by name (kubectl as the harness's account).
    /// With `run`: only that run's pods (other tests' pods may share the namespace).
    static func pods(_ kubeconfig: String, run: String? = nil) -> [String] {
        let kubectl = ["/var/cache/airlock-test/k8s/root/usr/bin/kubectl", "/usr/bin/kubectl"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let kubectl else { return [] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kubectl)
        process.arguments = ["--kubeconfig", kubeconfig, "--request-timeout=10s", "get", "pods", "-l",
                             run.map { "airlock.dev/run=\($0)" } ?? "app.kubernetes.io/managed-by=airlock", "-o", "name"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return [] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // Pods of the in-process library tests (named with this process's pid) run alongside;
        // the airlock commands' pods carry their own pids.
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
            .filter { !$0.contains("-\(getpid())-") }
    }

    @Test("a scripted run in a pod through the built-in tools; the ledger records the pod; verify passes; no pod is left")
    func scriptedRun() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([
            RunScene.shell("echo in-pod > note.txt && id -u && ls /var/run/secrets 2>&1; true"),
            ["tool_calls": [["name": "read_file", "arguments": ["path": "note.txt"]]]],
            ["tool_calls": [["name": "write_file", "arguments": ["path": "dir/b.txt", "content": "two\n"]]]],
            ["tool_calls": [["name": "edit_file", "arguments": ["path": "dir/b.txt", "old": "two", "new": "three"]]]],
            ["tool_calls": [["name": "list_files", "arguments": ["path": "dir"]]]],
            RunScene.shell("cat dir/b.txt"),
            RunScene.submit("done in a pod"),
        ])
        let outcome = try await RunBinary.run(["run", "do the task", "--workspace", scene.workspace, "--state-dir", scene.stateDir,
                                               "--model", model, "--json"] + Self.kubeArguments(kubeconfig),
                                              limit: .seconds(120))
        #expect(outcome.status == 0, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        let run = try #require(outcome.objects.compactMap { $0 }.first { $0["type"] as? String == "run_started" }?["run"] as? String)
        let ledger = try await scene.ledger(run)
        let started = try #require(ledger.first { $0.kind == "sandbox_started" })
        #expect(started.payload["backend"] as? String == "kubernetes")
        #expect((started.payload["pod"] as? String ?? "").hasPrefix("airlock-sbx-"), "\(started.payload)")
        #expect((started.payload["pod_uid"] as? String ?? "").count > 10)
        #expect(started.payload["node"] as? String == "localhost")
        let results = ledger.filter { $0.kind == "tool_result" }.map { "\($0.payload)" }.joined(separator: "\n")
        #expect(results.contains("65532"), "the shell ran as the pod's uid: \(results)")
        #expect(results.contains("in-pod"), "read_file saw what the shell wrote")
        #expect(results.contains("three"), "edit_file changed the file in the pod")
        #expect(!results.contains("serviceaccount"), "no service-account token directory in the pod")
        let verify = try await scene.command(["verify", run])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
        #expect(Self.pods(kubeconfig, run: run).isEmpty, "the run's pod was deleted")
    }

    @Test("exec in a pod: the command's own status and output; a missing image is exit 125 with ErrImagePull, no pod left")
    func exec() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let ok = try await RunBinary.run(["exec", "--workspace", scene.workspace] + Self.kubeArguments(kubeconfig)
                                         + ["--", "sh", "-c", "echo hello; exit 7"], limit: .seconds(90))
        #expect(ok.status == 7, "stdout: \(ok.stdout) stderr: \(ok.stderr)")
        #expect(ok.stdout == "hello\n")
        let bad = try await RunBinary.run(["exec", "--workspace", scene.workspace]
                                          + Self.kubeArguments(kubeconfig, image: "docker.io/probe/missing:1") + ["--", "true"],
                                          limit: .seconds(90))
        #expect(bad.status == 125, "stdout: \(bad.stdout) stderr: \(bad.stderr)")
        #expect(bad.stderr.contains("ErrImagePull") || bad.stderr.contains("ImagePullBackOff"), "\(bad.stderr)")
        #expect(Self.pods(kubeconfig).isEmpty, "no pod left behind")
    }

    @Test("run with a missing image: exit 5, the error names the pull failure, no pod left")
    func runMissingImage() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([RunScene.shell("true"), RunScene.submit()])
        let outcome = try await RunBinary.run(["run", "do the task", "--workspace", scene.workspace, "--state-dir", scene.stateDir,
                                               "--model", model] + Self.kubeArguments(kubeconfig, image: "docker.io/probe/missing:1"),
                                              limit: .seconds(120))
        #expect(outcome.status == 5, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("ErrImagePull") || outcome.stderr.contains("ImagePullBackOff") || outcome.stdout.contains("ErrImagePull"),
                "\(outcome.stdout) \(outcome.stderr)")
        #expect(Self.pods(kubeconfig).isEmpty, "no pod left behind")
    }

    @Test("the workspace goes into the pod and back: the agent reads a host file, writes, edits, deletes; the host has exactly its result")
    func workspaceRoundTrip() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let fm = FileManager.default
        try "from the host\n".write(toFile: scene.workspace + "/input.txt", atomically: true, encoding: .utf8)
        try "delete me\n".write(toFile: scene.workspace + "/gone.txt", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: scene.workspace + "/src/deep", withIntermediateDirectories: true)
        try "#!/bin/sh\necho tool\n".write(toFile: scene.workspace + "/src/deep/tool.sh", atomically: true, encoding: .utf8)
        chmod(scene.workspace + "/src/deep/tool.sh", 0o755)
        let model = try scene.script([
            ["tool_calls": [["name": "read_file", "arguments": ["path": "input.txt"]]]],
            RunScene.shell("cat input.txt > copy.txt && ./src/deep/tool.sh >> copy.txt && rm gone.txt && mkdir -p out && ln -s ../copy.txt out/link"),
            ["tool_calls": [["name": "write_file", "arguments": ["path": "out/result.txt", "content": "written in the pod\n"]]]],
            RunScene.submit("done"),
        ])
        let outcome = try await RunBinary.run(["run", "copy it", "--workspace", scene.workspace, "--state-dir", scene.stateDir,
                                               "--model", model, "--json"] + Self.kubeArguments(kubeconfig),
                                              limit: .seconds(120))
        #expect(outcome.status == 0, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(try String(contentsOfFile: scene.workspace + "/copy.txt", encoding: .utf8) == "from the host\ntool\n")
        #expect(try String(contentsOfFile: scene.workspace + "/out/result.txt", encoding: .utf8) == "written in the pod\n")
        #expect(try fm.destinationOfSymbolicLink(atPath: scene.workspace + "/out/link") == "../copy.txt")
        #expect(!fm.fileExists(atPath: scene.workspace + "/gone.txt"), "a file the agent deleted is gone on the host")
        #expect(try String(contentsOfFile: scene.workspace + "/input.txt", encoding: .utf8) == "from the host\n")
        var info = stat()
        #expect(stat(scene.workspace + "/src/deep/tool.sh", &info) == 0 && info.st_mode & 0o111 != 0, "the mode survived both trips")
        let run = try #require(outcome.objects.compactMap { $0 }.first { $0["type"] as? String == "run_started" }?["run"] as? String)
        let ledger = try await scene.ledger(run)
        let killed = try #require(ledger.first { $0.kind == "sandbox_killed" })
        #expect(killed.payload["workspace_entries"] as? String != nil, "\(killed.payload)")
        #expect(Self.pods(kubeconfig, run: run).isEmpty, "the run's pod was deleted")
    }

    @Test("resume after a real SIGKILL of the harness: the run's pod is found by its label and reattached; the old guest's command is fenced; the run finishes in the same pod")
    func resumeAfterSIGKILL() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        try "before\n".write(toFile: scene.workspace + "/input.txt", atomically: true, encoding: .utf8)
        let model = try scene.script([
            RunScene.shell("cat input.txt > begun.txt && echo begun >> begun.txt && sleep 40"),
            RunScene.shell("cat begun.txt > after.txt && echo after >> after.txt"),
            RunScene.submit("resumed in a fresh pod"),
        ])
        let (harness, runID) = try await Self.runInCall(scene, "survive a kill", model: model, kubeconfig: kubeconfig)
        defer { harness.cleanUp() }
        // The shell call is in the pod (its frame went out at once); let it write begun.txt.
        try await Task.sleep(for: .seconds(3))
        kill(harness.pid, SIGKILL)
        let end = await harness.wait(limit: .seconds(10))
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL)
        let orphans = Self.pods(kubeconfig, run: runID)
        #expect(orphans.count == 1, "the dead harness's pod is still there: \(orphans)")
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/begun.txt"), "nothing came back before the resume")

        let resumed = try await scene.command(["resume", runID, "--json"])
        #expect(resumed.status == 0, "resume: \(resumed.stdout) \(resumed.stderr)")
        #expect(scene.file("begun.txt") == "before\nbegun\n", "the pod's work came back")
        #expect(scene.file("after.txt") == "before\nbegun\nafter\n", "the resumed guest saw it and its own work came back")
        let ledger = try await scene.ledger(runID)
        let starts = ledger.filter { $0.kind == "sandbox_started" }.map(\.payload)
        #expect(starts.count == 2, "\(starts)")
        #expect(starts.last?["reattached"] as? String == "true", "the resumed start reattached: \(starts)")
        #expect(starts.first?["pod"] as? String == starts.last?["pod"] as? String, "the same pod: \(starts)")
        #expect(starts.last?["stale_pods"] == nil, "no pod was deleted and replaced: \(starts)")
        // The old guest's `sleep 40` (and its shell) outlived the harness in the pod; the
        // resumed guest killed them before it greeted.
        let fenced = Int(starts.last?["fenced_processes"] as? String ?? "") ?? 0
        #expect(fenced >= 1, "the old guest's command was fenced: \(starts)")
        let cut = ledger.filter { $0.kind == "tool_result" && $0.payload["status"] as? String == "interrupted" }
        #expect(cut.count == 1, "the call in flight is reported cut, not run again: \(ledger.map(\.kind))")
        #expect(try await scene.status(of: runID) == "finished")
        #expect(Self.pods(kubeconfig, run: runID).isEmpty, "no pod left: \(Self.pods(kubeconfig, run: runID))")
    }

    @Test("a pod deleted mid-call under a live harness: the call fails, a new pod replaces it from the host's copy, the model is told, the run finishes")
    func podDeletedMidRun() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        try "host copy\n".write(toFile: scene.workspace + "/input.txt", atomically: true, encoding: .utf8)
        let model = try scene.script([
            RunScene.shell("echo lost > lost.txt && echo begun && sleep 40"),
            RunScene.shell("cat input.txt > after.txt && ls > listing.txt"),
            RunScene.submit("survived the pod's deletion"),
        ])
        let (harness, runID) = try await Self.runInCall(scene, "lose a pod", model: model, kubeconfig: kubeconfig)
        defer { harness.cleanUp() }
        try await Task.sleep(for: .seconds(2))
        let (listed, names) = Self.kubectl(kubeconfig, ["get", "pods", "-l", "airlock.dev/run=\(runID)", "-o", "name"])
        let pod = try #require(names.split(separator: "\n").first.map(String.init), "the run's pod: \(listed) \(names)")
        let (deleted, said) = Self.kubectl(kubeconfig, ["delete", pod, "--grace-period=0", "--force", "--wait=false"])
        #expect(deleted == 0, "kubectl delete: \(said)")

        let end = await harness.wait(limit: .seconds(150))
        #expect(end.status == 0, "the run finished: \(harness.stdout.suffix(2000)) \(harness.stderr)")
        let ledger = try await scene.ledger(runID)
        let starts = ledger.filter { $0.kind == "sandbox_started" }.map(\.payload)
        #expect(starts.count == 2 && starts[0]["pod"] as? String != starts[1]["pod"] as? String, "a second pod: \(starts)")
        #expect(starts.count == 2 && pod.hasSuffix(starts[0]["pod"] as? String ?? "?"), "the deleted pod was the first: \(starts)")
        #expect(ledger.contains { $0.kind == "sandbox_replaced" }, "\(ledger.map(\.kind))")
        // The model was told the first call did not finish; the second ran in the new pod,
        // on the host's copy (the deleted pod's lost.txt went with it).
        let first = ledger.first { $0.kind == "tool_result" }?.payload
        #expect(first?["status"] as? String != "completed", "the first call's result: \(first ?? [:])")
        #expect(scene.file("after.txt") == "host copy\n")
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/lost.txt"), "nothing came back from the deleted pod")
        #expect(scene.file("listing.txt").contains("input.txt"))
        let (_, left) = Self.kubectl(kubeconfig, ["get", "pods", "-l", "airlock.dev/run=\(runID)", "-o", "name"])
        #expect(left.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no pod of the run left: \(left)")
    }

    @Test("a call past --call-timeout in a pod is killed there (its process gone), reported timed out, and the run goes on")
    func callTimeoutInPod() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([
            RunScene.shell("echo started > started.txt; sleep 30; echo late > late.txt"),
            RunScene.shell("ps > procs.txt; ls > listing.txt"),
            RunScene.submit("timed out and went on"),
        ])
        let began = ContinuousClock.now
        let run = try await scene.command(["run", "time out in a pod", "--model", model, "--workspace", scene.workspace,
                                           "--call-timeout", "3s", "--json"] + Self.kubeArguments(kubeconfig))
        #expect(run.status == 0, "\(run.stdout.suffix(2000)) \(run.stderr)")
        #expect(ContinuousClock.now - began < .seconds(28), "the run did not wait for the 30 s sleep")
        let runID = try #require(run.stdout.split(separator: "\n").lazy
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .first { $0["type"] as? String == "run_started" }?["run"] as? String)
        let ledger = try await scene.ledger(runID)
        let first = ledger.first { $0.kind == "tool_result" }?.payload
        #expect(first?["status"] as? String == "timed_out", "\(first ?? [:])")
        #expect(scene.file("started.txt") == "started\n", "the call did start in the pod")
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/late.txt"))
        let procs = scene.file("procs.txt")
        #expect(!procs.isEmpty && !procs.contains("sleep 30"), "the timed-out command is gone from the pod: \(procs)")
        #expect(Self.pods(kubeconfig, run: runID).isEmpty)
    }

    @Test("the pod's container killed from the host mid-call (its init process, found by the pod's uid): the sandbox is replaced and the run finishes")
    func containerKilledMidRun() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([
            RunScene.shell("echo begun && sleep 40"),
            RunScene.shell("echo after > after.txt"),
            RunScene.submit("survived the container's death"),
        ])
        let (harness, runID) = try await Self.runInCall(scene, "lose a container", model: model, kubeconfig: kubeconfig)
        defer { harness.cleanUp() }
        try await Task.sleep(for: .seconds(2))
        let (_, uidText) = Self.kubectl(kubeconfig, ["get", "pods", "-l", "airlock.dev/run=\(runID)", "-o", "jsonpath={.items[0].metadata.uid}"])
        let uid = uidText.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(!uid.isEmpty, "the run's pod uid")
        // The main container's init process: the idle guest, in this pod's cgroup (the `guest`
        // container idles too, as /airlock/airlock-guest: not the one the sandbox lives in).
        let victims = Self.hostProcesses { pid, cmdline, cgroup in
            cmdline.contains("/opt/airlock/airlock-guest") && cmdline.contains("--idle")
                && (cgroup.contains("pod\(uid)") || cgroup.contains("pod\(uid.replacingOccurrences(of: "-", with: "_"))"))
        }
        try #require(victims.count == 1, "exactly one init process of the pod: \(victims)")
        kill(victims[0], SIGKILL)

        let end = await harness.wait(limit: .seconds(150))
        #expect(end.status == 0, "the run finished: \(harness.stdout.suffix(2000)) \(harness.stderr)")
        let ledger = try await scene.ledger(runID)
        let starts = ledger.filter { $0.kind == "sandbox_started" }.map(\.payload)
        #expect(starts.count == 2 && starts[0]["pod"] as? String != starts[1]["pod"] as? String, "a new pod: \(starts)")
        #expect(ledger.contains { $0.kind == "sandbox_replaced" }, "\(ledger.map(\.kind))")
        #expect(scene.file("after.txt") == "after\n")
        #expect(Self.pods(kubeconfig, run: runID).isEmpty)
    }

    /// Host processes matching `predicate(pid, cmdline, cgroup)`.
    static func hostProcesses(_ predicate: (Int32, String, String) -> Bool) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            let cmdline = (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")).map {
                String(decoding: $0.map { $0 == 0 ? 32 : $0 }, as: UTF8.self) } ?? ""
            let cgroup = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
            return predicate(pid, cmdline, cgroup)
        }
    }

    @Test("submit --sandbox kubernetes; a worker SIGKILLed mid-call; another takes the run over from the stored options: it reattaches to the same pod, fences the old guest, finishes the run")
    func workerTakeover() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        try "queued\n".write(toFile: scene.workspace + "/input.txt", atomically: true, encoding: .utf8)
        let model = try scene.script("k", [
            WorkerScene.shell("cat input.txt > begun.txt && sleep 40"),
            WorkerScene.shell("echo second >> begun.txt"),
            WorkerScene.submit("taken over"),
        ])
        let id = try await scene.submit("in a pod", model: model, Self.kubeArguments(kubeconfig))
        let first = try scene.worker("a", lease: "2s")
        let inCall = await first.waitForOutput(limit: .seconds(60)) { $0.contains("\"type\":\"tool_call\"") }
        try #require(inCall, "worker a never reached the call: \(first.stdout) \(first.stderr)")
        try await Task.sleep(for: .seconds(3))
        kill(first.pid, SIGKILL)
        _ = await first.waitForExit(limit: .seconds(5))
        #expect(Self.pods(kubeconfig, run: id).count == 1, "worker a's pod outlived it")
        // A longer lease for b: on a loaded host a 1 s lease can lapse under b too, and b then
        // takes its own run over (which works, through the same stale-pod path, but adds a pod).
        let second = try scene.worker("b", lease: "5s")
        let finished = try await scene.waitFinished([id], limit: .seconds(90))
        await scene.stopAll()
        #expect(finished, "b: \(second.stdout) \(second.stderr)")
        #expect(scene.file("begun.txt") == "queued\nsecond\n", "the old pod's work and the new call's: \(scene.file("begun.txt"))")
        let ledger = try await scene.ledger(id)
        let starts = ledger.filter { $0["kind"] as? String == "sandbox_started" }.compactMap { $0["payload"] as? [String: Any] }
        let story = ledger.compactMap { entry in (entry["kind"] as? String).map { "\($0) \(entry["payload"] ?? "")" } }.joined(separator: "\n")
        #expect(starts.count >= 2 && starts.allSatisfy { $0["backend"] as? String == "kubernetes" }, "\(story)")
        #expect(starts.count >= 2 && starts[1]["reattached"] as? String == "true"
                && starts[1]["pod"] as? String == starts.first?["pod"] as? String, "b reattached to a's pod: \(story)")
        #expect(Self.pods(kubeconfig, run: id).isEmpty, "no pod left: \(Self.pods(kubeconfig, run: id))")
    }

    @Test("a worker that is only paused past its lease (SIGSTOP), then continues: the taker holds the pod; the old worker neither copies its work back nor deletes the pod")
    func pausedWorkerLeavesThePodAlone() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("p", [
            WorkerScene.shell("echo first > first.txt && sleep 40"),
            WorkerScene.shell("sleep 12; echo second > second.txt"),
            WorkerScene.submit("taken over from a paused worker"),
        ])
        let id = try await scene.submit("in a pod", model: model, Self.kubeArguments(kubeconfig))
        let first = try scene.worker("a", lease: "2s")
        defer { kill(first.pid, SIGKILL) }
        let inCall = await first.waitForOutput(limit: .seconds(60)) { $0.contains("\"type\":\"tool_call\"") }
        try #require(inCall, "worker a never reached the call: \(first.stdout) \(first.stderr)")
        try await Task.sleep(for: .seconds(2))
        kill(first.pid, SIGSTOP)
        let second = try scene.worker("b", lease: "5s")
        // b takes the run over once a's lease lapses, reattaches to the pod and starts the
        // second call (12 s). Then a wakes up, learns it lost the run, and ends its sandbox.
        var tookOver = false
        for _ in 0..<120 where !tookOver {
            try await Task.sleep(for: .milliseconds(250))
            tookOver = try await scene.ledger(id).contains { ($0["kind"] as? String) == "sandbox_started" && (($0["payload"] as? [String: Any])?["reattached"] as? String) == "true" }
        }
        try #require(tookOver, "b never reattached: \(second.stdout) \(second.stderr)")
        kill(first.pid, SIGCONT)
        let finished = try await scene.waitFinished([id], limit: .seconds(120))
        await scene.stopAll()
        #expect(finished, "b: \(second.stdout.suffix(3000)) \(second.stderr)")
        let ledger = try await scene.ledger(id)
        let kinds = ledger.compactMap { $0["kind"] as? String }
        let reattachedAt = try #require(ledger.firstIndex { ($0["kind"] as? String) == "sandbox_started" && (($0["payload"] as? [String: Any])?["reattached"] as? String) == "true" })
        #expect(!kinds[reattachedAt...].contains("sandbox_replaced"), "b's pod was never taken from under it: \(kinds)")
        #expect(scene.file("second.txt") == "second\n" && scene.file("first.txt") == "first\n", "b brought the pod's work back")
        // a woke while b's 12 s call ran in the pod; had a deleted the pod, that call would
        // have died with it.
        let results = ledger.filter { ($0["kind"] as? String) == "tool_result" }.compactMap { $0["payload"] as? [String: Any] }
        #expect(results.last?["status"] as? String == "completed", "b's last call: \(results)")
    }

    @Test("doctor --sandbox kubernetes starts a real pod and reports it; a runtime class the cluster lacks fails with the fix; exit status follows")
    func doctorWithPod() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let good = try await RunBinary.run(["doctor", "--sandbox", "kubernetes", "--kubeconfig", kubeconfig, "--image", Self.image, "--json"],
                                           limit: .seconds(120))
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
        let report = try #require((try? JSONSerialization.jsonObject(with: Data(good.stdout.utf8))) as? [String: Any], "\(good.stdout)")
        let checks = report["kubernetes"] as? [[String: Any]] ?? []
        #expect(checks.map { $0["name"] as? String ?? "" } == ["kubeconfig", "apiserver", "namespace airlock-test", "pod", "network policy"], "\(checks)")
        let pod = checks.first { $0["name"] as? String == "pod" }?["detail"] as? String ?? ""
        #expect(pod.contains("started and answered") && pod.contains("deleted"), "\(pod)")
        let name = pod.split(separator: " ").dropFirst().first.map(String.init) ?? "?"
        let (_, left) = Self.kubectl(kubeconfig, ["get", "pod", name, "--ignore-not-found", "-o", "name"])
        #expect(left.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "the doctor's pod is gone: \(left)")

        let bad = try await RunBinary.run(["doctor", "--sandbox", "kubernetes", "--kubeconfig", kubeconfig, "--image", Self.image,
                                           "--runtime-class", "no-such-runtime"], limit: .seconds(120))
        #expect(bad.status == 1, "\(bad.stdout) \(bad.stderr)")
        #expect(bad.stdout.contains("FAIL pod") && bad.stdout.contains("no-such-runtime") && bad.stdout.contains("kubectl get runtimeclass"), "\(bad.stdout)")

        let local = try await RunBinary.run(["doctor", "--sandbox", "bwrap"], limit: .seconds(30))
        #expect(local.status == 2 && local.stderr.contains("takes only kubernetes"), "\(local.stderr)")
    }

    /// kubectl as the harness's account, bounded; its status and stdout.
    @discardableResult
    static func kubectl(_ kubeconfig: String, _ arguments: [String]) -> (Int32, String) {
        guard let path = ["/var/cache/airlock-test/k8s/root/usr/bin/kubectl", "/usr/bin/kubectl"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0) }) else { return (-1, "no kubectl") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--kubeconfig", kubeconfig, "--request-timeout=20s"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        guard (try? process.run()) != nil else { return (-1, "cannot run kubectl") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("doctor reports the kubernetes tier: ok on the test namespace; the missing rights, an unreachable apiserver and a missing kubeconfig each with the fix")
    func doctor() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let good = try await RunBinary.run(["doctor", "--kubeconfig", kubeconfig, "--json"], limit: .seconds(120))
        let report = try #require((try? JSONSerialization.jsonObject(with: Data(good.stdout.utf8))) as? [String: Any], "\(good.stdout) \(good.stderr)")
        let checks = try #require(report["kubernetes"] as? [[String: Any]], "\(report)")
        #expect(checks.map { $0["name"] as? String ?? "" } == ["kubeconfig", "apiserver", "namespace airlock-test"])
        #expect(checks.allSatisfy { $0["ok"] as? Bool == true }, "\(checks)")

        let denied = try await RunBinary.run(["doctor", "--kubeconfig", kubeconfig, "--namespace", "default"], limit: .seconds(120))
        #expect(denied.stdout.contains("FAIL namespace default: not allowed: pods create"), "\(denied.stdout)")
        #expect(denied.stdout.contains("fix: grant the context's user a Role in default"), "\(denied.stdout)")

        // The same account, aimed at a loopback port nothing listens on.
        let text = try String(contentsOfFile: kubeconfig, encoding: .utf8)
        let closed = scene.root + "/closed.kubeconfig"
        let port = try #require(Self.closedPort())
        try text.replacingOccurrences(of: "https://127.0.0.1:6443", with: "https://127.0.0.1:\(port)")
            .write(toFile: closed, atomically: true, encoding: .utf8)
        let unreachable = try await RunBinary.run(["doctor", "--kubeconfig", closed], limit: .seconds(120))
        #expect(unreachable.stdout.contains("FAIL apiserver"), "\(unreachable.stdout)")
        #expect(unreachable.stdout.contains("fix: check the cluster is reachable"), "\(unreachable.stdout)")

        let missing = try await RunBinary.run(["doctor", "--kubeconfig", scene.root + "/none"], limit: .seconds(120))
        #expect(missing.stdout.contains("FAIL kubeconfig: cannot read the kubeconfig"), "\(missing.stdout)")
        #expect(missing.stdout.contains("fix: point --kubeconfig"), "\(missing.stdout)")
    }

    /// A loopback port that was free a moment ago (bound, then closed).
    static func closedPort() -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return named == 0 ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }

    @Test("gc: a finished run's pod is deleted, an interrupted run's pod kept (resume recovers it) until --include-interrupted; --dry-run deletes nothing")
    func gc() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        // An interrupted run: its harness SIGKILLed mid-call leaves its pod.
        let model = try scene.script([RunScene.shell("sleep 40"), RunScene.submit()])
        let (harness, interruptedRun) = try await Self.runInCall(scene, "to be killed", model: model, kubeconfig: kubeconfig)
        defer { harness.cleanUp() }
        kill(harness.pid, SIGKILL)
        _ = await harness.wait(limit: .seconds(10))
        // (Only this test's runs' pods are counted: other tests may share the namespace.)
        let interruptedPod = try #require(Self.pods(kubeconfig, run: interruptedRun).first)
        // A finished run, and a pod labelled as one of its sandboxes that outlived it.
        let finished = try await scene.command(["run", "done at once", "--model", try scene.script([RunScene.submit()]),
                                                "--workspace", scene.workspace, "--json"])
        #expect(finished.status == 0, "\(finished.stderr)")
        let finishedRun = try #require(finished.objects.compactMap { $0 }.first { $0["type"] as? String == "run_started" }?["run"] as? String)
        let leftover = "airlock-gc-test-\(getpid())"
        defer { Self.kubectl(kubeconfig, ["delete", "pod", leftover, "--grace-period=0", "--ignore-not-found", "--wait=false"]) }
        let created = Self.kubectl(kubeconfig, ["run", leftover, "--image", Self.image, "--restart=Never", "--image-pull-policy=IfNotPresent",
                                                "--labels=app.kubernetes.io/managed-by=airlock,airlock.dev/run=\(finishedRun)",
                                                "--command", "--", "sleep", "300"])
        try #require(created.0 == 0, "\(created.1)")
        let gcArguments = ["gc", "--kubeconfig", kubeconfig, "--state-dir", scene.stateDir]

        let dry = try await RunBinary.run(gcArguments + ["--dry-run", "--json"], limit: .seconds(60))
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = dry.objects.compactMap { $0 }
        #expect(plan.first { $0["pod"] as? String == leftover }?["delete"] as? Bool == true, "\(plan)")
        #expect(plan.first { "pod/" + ($0["pod"] as? String ?? "") == interruptedPod }?["delete"] as? Bool == false, "\(plan)")
        #expect(plan.allSatisfy { $0["deleted"] as? Bool == false })
        #expect(Self.pods(kubeconfig, run: interruptedRun) == [interruptedPod] && Self.pods(kubeconfig, run: finishedRun) == ["pod/" + leftover],
                "--dry-run deleted nothing")

        let swept = try await RunBinary.run(gcArguments, limit: .seconds(60))
        #expect(swept.status == 0, "\(swept.stderr)")
        #expect(swept.stdout.contains("deleted \(leftover)"), "\(swept.stdout)")
        #expect(swept.stdout.contains("airlock resume"), "the interrupted run's pod is kept with the reason: \(swept.stdout)")
        #expect(Self.pods(kubeconfig, run: interruptedRun) == [interruptedPod] && Self.pods(kubeconfig, run: finishedRun).isEmpty)

        let all = try await RunBinary.run(gcArguments + ["--include-interrupted"], limit: .seconds(60))
        #expect(all.status == 0, "\(all.stderr)")
        #expect(Self.pods(kubeconfig, run: interruptedRun).isEmpty, "\(all.stdout)")
    }
}
