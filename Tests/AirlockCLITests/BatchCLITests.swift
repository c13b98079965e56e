import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// A batch scene: a state dir, a template workspace, scripts and batch files under /tmp.
struct BatchScene {
    let root: String
    var stateDir: String { root + "/state" }
    var template: String { root + "/template" }

    init() throws {
        root = NSTemporaryDirectory() + "airlock-batch-scene-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: template, withIntermediateDirectories: true)
        // The sandbox's unprivileged uid must reach the copies and write in them.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: template)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// Writes a script model named `name`; returns its path (relative to the batch file's directory works too).
    @discardableResult
    func script(_ name: String, _ turns: [[String: Any]]) throws -> String {
        let path = root + "/\(name).json"
        try JSONSerialization.data(withJSONObject: ["turns": turns], options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes `lines` (JSON objects) as a JSONL batch file; returns its path.
    func jsonl(_ name: String, _ tasks: [[String: Any]]) throws -> String {
        let text = try tasks.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
            .joined(separator: "\n") + "\n"
        return try file(name, text)
    }

    func file(_ name: String, _ text: String) throws -> String {
        let path = root + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `airlock ARGS --state-dir DIR` (the state dir goes before a `--`).
    func command(_ arguments: [String], limit: Duration = .seconds(120)) async throws -> RunBinary.Outcome {
        var arguments = arguments
        arguments.insert(contentsOf: ["--state-dir", stateDir], at: arguments.firstIndex(of: "--") ?? arguments.count)
        return try await RunBinary.run(arguments, limit: limit)
    }

    /// `batch show BATCH --json`.
    func show(_ batch: String) async throws -> [String: Any] {
        let outcome = try await command(["batch", "show", batch, "--json"])
        return (outcome.objects.first ?? nil) ?? [:]
    }

    func ledger(_ run: String) async throws -> [[String: Any]] {
        let show = try await command(["show", run, "--json"])
        return (show.objects.first ?? nil)?["ledger"] as? [[String: Any]] ?? []
    }

    /// The workspace copies the batch made, by task number.
    func copies() -> [String] {
        let base = root + "/tasks.jsonl.workspaces"
        guard let stamps = try? FileManager.default.contentsOfDirectory(atPath: base) else { return [] }
        return stamps.flatMap { stamp in
            ((try? FileManager.default.contentsOfDirectory(atPath: base + "/" + stamp)) ?? []).sorted().map { base + "/" + stamp + "/" + $0 }
        }
    }

    static func shell(_ command: String, usage: (Int, Int)? = nil) -> [String: Any] {
        var turn: [String: Any] = ["tool_calls": [["name": "shell", "arguments": ["command": command]]]]
        if let usage { turn["usage"] = ["input_tokens": usage.0, "output_tokens": usage.1] }
        return turn
    }

    static func submit(_ answer: String = "done") -> [String: Any] {
        ["tool_calls": [["name": "submit", "arguments": ["answer": answer]]]]
    }
}

extension RunBinary.Outcome {
    /// The `batch_finished` event of `--json` output.
    var batchFinished: [String: Any]? {
        objects.compactMap { $0 }.first { $0["type"] as? String == "batch_finished" }
    }
}

@Suite("airlock batch", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(4)))
struct BatchCLITests {
    @Test("30 scripted tasks, 8 at once: each runs once in its own copy, the summary matches the ledgers, a failure is named with its reason")
    func thirtyTasks() async throws {
        let scene = try BatchScene()
        defer { scene.remove() }
        try scene.script("ok", [BatchScene.shell("echo ran >> log.txt", usage: (10, 5)), BatchScene.submit("ok")])
        try scene.script("runaway", [BatchScene.shell("echo ran >> log.txt"), BatchScene.shell("echo again >> log.txt"),
                                     BatchScene.submit("never")])
        var tasks: [[String: Any]] = (1...30).map { ["task": "task \($0)", "template": "template", "model": "script:ok.json"] }
        tasks[16] = ["task": "task 17 runs away", "template": "template", "model": "script:runaway.json", "max_steps": 1]
        let file = try scene.jsonl("tasks.jsonl", tasks)
        let outcome = try await scene.command(["batch", file, "--concurrency", "8", "--json"])
        #expect(outcome.status == 10, "one run failed, so exit 10: \(outcome.stderr)")
        let summary = try #require(outcome.batchFinished, "no batch_finished: \(outcome.stdout.suffix(2000)) \(outcome.stderr)")
        #expect(summary["runs"] as? Int == 30)
        #expect(summary["succeeded"] as? Int == 29)
        #expect((summary["outcomes"] as? [String: Any])?["submitted"] as? Int == 29)
        #expect((summary["outcomes"] as? [String: Any])?["budget_exceeded"] as? Int == 1)
        let failures = summary["failures"] as? [[String: Any]] ?? []
        #expect(failures.count == 1 && failures.first?["index"] as? Int == 16)
        #expect((failures.first?["reason"] as? String)?.contains("step") == true, "the reason: \(failures)")
        #expect(summary["input_tokens"] as? Int == 29 * 10)
        let batchID = try #require(summary["batch"] as? String)

        // Every event is tagged with its run and the batch.
        let events = outcome.objects.compactMap { $0 }.filter { $0["type"] as? String != "batch_finished" }
        #expect(!events.isEmpty && events.allSatisfy { $0["batch"] as? String == batchID && $0["run"] is String })

        // Each task ran once, in its own copy of the template.
        let copies = scene.copies()
        #expect(copies.count == 30)
        for (index, copy) in copies.enumerated() {
            let log = String(decoding: FileManager.default.contents(atPath: copy + "/log.txt") ?? Data(), as: UTF8.self)
            #expect(log == "ran\n", "task \(index + 1): \(log)")
        }
        #expect(!FileManager.default.fileExists(atPath: scene.template + "/log.txt"), "the template itself is untouched")

        // The stored summary says the same, and every run's ledger agrees with it.
        let shown = try await scene.show(batchID)
        #expect(shown["succeeded"] as? Int == 29 && shown["runs"] as? Int == 30)
        let items = shown["items"] as? [[String: Any]] ?? []
        #expect(items.count == 30)
        var runIDs: Set<String> = []
        for item in items {
            let run = try #require(item["run"] as? String)
            runIDs.insert(run)
            let ledger = try await scene.ledger(run)
            let finished = ledger.filter { $0["kind"] as? String == "run_finished" }
            #expect(finished.count == 1, "\(run) finished once")
            #expect((finished.first?["payload"] as? [String: Any])?["outcome"] as? String == item["state"] as? String)
            #expect(ledger.filter { $0["kind"] as? String == "run_started" }.count == 1)
        }
        #expect(runIDs.count == 30)
        let text = try await scene.command(["batch", "show", batchID])
        #expect(text.status == 10 && text.stdout.contains("budget_exceeded") && text.stdout.contains("#17"), "\(text.stdout)")
    }

    @Test("SIGKILL in the middle, then batch resume: every run finishes, nothing runs twice")
    func killAndResume() async throws {
        let scene = try BatchScene()
        defer { scene.remove() }
        let marker = "0." + DurabilityHost.uniqueFraction()
        defer { DurabilityHost.killAll(marker) }
        try scene.script("slow", [BatchScene.shell("echo first >> log.txt; sleep \(marker)"), BatchScene.shell("echo second >> log.txt"),
                                  BatchScene.submit("ok")])
        let tasks: [[String: Any]] = (1...12).map { ["task": "task \($0)", "template": "template", "model": "script:slow.json"] }
        let file = try scene.jsonl("tasks.jsonl", tasks)
        let first = try AirlockProcess(["batch", file, "--concurrency", "4", "--json", "--state-dir", scene.stateDir])
        defer { first.cleanUp() }
        let some = await first.waitForOutput(limit: .seconds(60)) { $0.components(separatedBy: "\"type\":\"run_finished\"").count > 4 }
        try #require(some, "no runs finished: \(first.stdout.suffix(1000)) \(first.stderr)")
        kill(first.pid, SIGKILL)
        _ = await first.waitForExit(limit: .seconds(10))
        let batchID = try #require(first.stdout.split(separator: "\n").lazy
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .compactMap { $0["batch"] as? String }.first)
        let finishedBefore = Set(first.stdout.split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .filter { $0["type"] as? String == "run_finished" }.compactMap { $0["run"] as? String })
        let before = try await scene.show(batchID)
        #expect(before["finished"] as? Int ?? 0 < 12, "the kill came in the middle: \(before["finished"] ?? "?")")

        // `latest` names the newest batch: this one.
        let resumed = try await scene.command(["batch", "resume", "latest", "--json"])
        #expect(resumed.status == 0, "resume: \(resumed.stderr) \(resumed.stdout.suffix(1500))")
        #expect(resumed.batchFinished?["batch"] as? String == batchID, "\(resumed.batchFinished ?? [:])")
        let summary = try #require(resumed.batchFinished)
        #expect(summary["succeeded"] as? Int == 12)
        // Runs that had finished were not touched again.
        let resumedRuns = Set(resumed.objects.compactMap { $0 }.compactMap { $0["run"] as? String })
        #expect(resumedRuns.isDisjoint(with: finishedBefore), "finished runs ran again: \(resumedRuns.intersection(finishedBefore))")
        // The appending tool: no line twice in any copy; a call cut by the kill may be missing.
        let copies = scene.copies()
        #expect(copies.count == 12)
        var missingFirst = 0
        for copy in copies {
            let lines = String(decoding: FileManager.default.contents(atPath: copy + "/log.txt") ?? Data(), as: UTF8.self)
                .split(separator: "\n")
            #expect(lines.filter { $0 == "first" }.count <= 1, "\(copy): \(lines)")
            #expect(lines.filter { $0 == "second" }.count <= 1, "\(copy): \(lines)")
            if !lines.contains("first") { missingFirst += 1 }
        }
        var interrupted = 0
        for item in summary["items"] as? [[String: Any]] ?? [] {
            let run = try #require(item["run"] as? String)
            let ledger = try await scene.ledger(run)
            interrupted += ledger.filter { $0["kind"] as? String == "tool_result"
                && ($0["payload"] as? [String: Any])?["status"] as? String == "interrupted" }.count
            #expect(ledger.filter { $0["kind"] as? String == "run_finished" }.count == 1)
            #expect(ledger.filter { $0["kind"] as? String == "run_started" }.count == 1)
            let verify = try await scene.command(["verify", run])
            #expect(verify.status == 0, "\(run): \(verify.stdout)")
        }
        // A first line is missing only where the kill cut its call after the frame went out
        // (the outcome is unknown, so it is not re-run): at most the 4 runs going then.
        #expect(missingFirst <= interrupted && interrupted <= 4, "missing \(missingFirst), interrupted \(interrupted)")
    }

    @Test("--max-tokens-total stops starting runs; the rest end skipped, untouched, with the reason")
    func totalBudgetStops() async throws {
        let scene = try BatchScene()
        defer { scene.remove() }
        try scene.script("spend", [BatchScene.shell("echo ran >> log.txt", usage: (100, 50)), BatchScene.submit("ok")])
        let tasks: [[String: Any]] = (1...6).map { ["task": "task \($0)", "template": "template"] }
        let file = try scene.jsonl("tasks.jsonl", tasks)
        let outcome = try await scene.command(["batch", file, "--concurrency", "1", "--max-tokens-total", "300", "--json",
                                               "--", "--model", "script:" + scene.root + "/spend.json"])
        #expect(outcome.status == 10, "\(outcome.stderr)")
        let summary = try #require(outcome.batchFinished, "\(outcome.stdout.suffix(1000)) \(outcome.stderr)")
        let outcomes = summary["outcomes"] as? [String: Any] ?? [:]
        #expect(outcomes["submitted"] as? Int == 2 && outcomes["skipped"] as? Int == 4, "\(outcomes)")
        #expect((summary["input_tokens"] as? Int ?? 0) + (summary["output_tokens"] as? Int ?? 0) == 300)
        let copies = scene.copies()
        #expect(copies.filter { FileManager.default.fileExists(atPath: $0 + "/log.txt") }.count == 2)
        for item in (summary["items"] as? [[String: Any]] ?? []) where item["state"] as? String == "skipped" {
            #expect((item["reason"] as? String)?.contains("total token budget") == true, "\(item)")
            let ledger = try await scene.ledger(item["run"] as? String ?? "")
            #expect(ledger.map { $0["kind"] as? String } == ["run_finished"])
        }
    }

    @Test("--warm: the next runs take sandboxes started ahead (the ledger says pooled), none serves two runs")
    func warmPool() async throws {
        let scene = try BatchScene()
        defer { scene.remove() }
        try scene.script("ok", [BatchScene.shell("echo ran >> log.txt; sleep 0.3"), BatchScene.submit("ok")])
        let tasks: [[String: Any]] = (1...5).map { ["task": "task \($0)", "template": "template", "model": "script:ok.json"] }
        let file = try scene.jsonl("tasks.jsonl", tasks)
        let outcome = try await scene.command(["batch", file, "--concurrency", "1", "--warm", "2", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr) \(outcome.stdout.suffix(1000))")
        let summary = try #require(outcome.batchFinished)
        var sandboxes: [String] = []
        var pooled = 0
        for item in summary["items"] as? [[String: Any]] ?? [] {
            let ledger = try await scene.ledger(item["run"] as? String ?? "")
            let started = ledger.filter { $0["kind"] as? String == "sandbox_started" }.compactMap { $0["payload"] as? [String: Any] }
            #expect(started.count == 1)
            sandboxes += started.compactMap { $0["sandbox"] as? String }
            if started.first?["pooled"] as? Bool == true {
                pooled += 1
                #expect(started.first?["pool_wait_ms"] is Double || started.first?["pool_wait_ms"] is Int)
            }
        }
        #expect(pooled >= 3, "runs 2-5 had time to find theirs ready: \(pooled) pooled")
        #expect(Set(sandboxes).count == 5, "no sandbox served two runs: \(sandboxes)")
        for copy in scene.copies() {
            #expect(FileManager.default.contents(atPath: copy + "/log.txt") == Data("ran\n".utf8))
        }
    }

    @Test("bad batch files are refused before anything starts, naming the line, the key or the path")
    func badFiles() async throws {
        let scene = try BatchScene()
        defer { scene.remove() }
        let model = "script:" + (try scene.script("ok", [BatchScene.submit("ok")]))
        let cases: [(String, String, [String])] = [
            ("badline.jsonl", "{\"task\": \"a\"}\n{\"task\": \"b\"}\n{\"task\": \"c\",}\n", ["badline.jsonl:3", "JSON"]),
            ("unknown.jsonl", "{\"task\": \"a\"}\n\n{\"task\": \"b\", \"modle\": \"x\"}\n", ["unknown.jsonl:3", "modle"]),
            ("template.jsonl", "{\"task\": \"a\", \"template\": \"no-such-dir\"}\n", ["template.jsonl:1", "no-such-dir", "not a directory"]),
            ("notask.yaml", "tasks:\n  - task: fine\n  - model: \(model)\n", ["notask.yaml:3", "task"]),
            ("unknown.yaml", "defaults:\n  max_steps: 3\ntasks:\n  - task: a\n    sandbx: bwrap\n", ["unknown.yaml:4", "sandbx"]),
            ("badmodel.jsonl", "{\"task\": \"a\", \"model\": \"script:missing.json\"}\n", ["badmodel.jsonl:1", "missing.json"]),
        ]
        for (name, text, needles) in cases {
            let file = try scene.file(name, text)
            let outcome = try await scene.command(["batch", file, "--", "--model", model])
            #expect(!outcome.stderr.contains("state dir"), "\(outcome.stderr)")
            #expect(outcome.status == 2, "\(name): exit \(outcome.status): \(outcome.stderr)")
            for needle in needles {
                #expect(outcome.stderr.contains(needle), "\(name): '\(needle)' in: \(outcome.stderr)")
            }
        }
        let misplaced = try await RunBinary.run(["batch", try scene.file("one.jsonl", "{\"task\": \"a\"}\n"), "--", "--model", model,
                                                 "--state-dir", scene.stateDir])
        #expect(misplaced.status == 2 && misplaced.stderr.contains("before --"), "\(misplaced.stderr)")
        let list = try await scene.command(["batch", "list", "--json"])
        #expect(list.status == 0 && list.stdout.isEmpty, "no batch was stored: \(list.stdout) \(list.stderr)")
        let runs = try await scene.command(["runs", "--json"])
        #expect(!runs.stdout.contains("\"id\""), "no run was stored: \(runs.stdout)")
    }
}

@Suite("airlock batch on PostgreSQL", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct BatchPostgresCLITests {
    @Test("a batch stored in PostgreSQL: every run once, a worker sharing the database takes none, batch show agrees")
    func batchOnPostgres() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("ok", [WorkerScene.shell("echo ran > $(mktemp -p . log-XXXXXX)"), ["tool_calls": [["name": "submit", "arguments": ["answer": "ok"]]]]])
        // A worker on the same database, idle: batch runs are never its to claim.
        let worker = try scene.worker("idle", concurrency: 2)
        let text = (1...6).map { "{\"task\": \"pg task \($0)\", \"workspace\": \"\(scene.workspace)\"}" }.joined(separator: "\n") + "\n"
        let file = scene.root + "/tasks.jsonl"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        // The database and state dir go before `--` (after it they would be run options).
        let run = try await RunBinary.run(["batch", file, "--concurrency", "3", "--json", "--database", scene.url,
                                           "--state-dir", scene.root + "/state-batch", "--", "--model", model], limit: .seconds(90))
        #expect(run.status == 0, "\(run.stderr) \(run.stdout.suffix(800))")
        let summary = try #require(run.batchFinished)
        #expect(summary["succeeded"] as? Int == 6)
        let batchID = try #require(summary["batch"] as? String)
        let shown = try await scene.command(["batch", "show", batchID, "--json"])
        #expect(shown.status == 0 && ((shown.objects.first ?? nil)?["succeeded"] as? Int) == 6, "\(shown.stderr)")
        #expect(!worker.stdout.contains("run_claimed"), "the worker claimed a batch run: \(worker.stdout)")
        let logs = ((try? FileManager.default.contentsOfDirectory(atPath: scene.workspace)) ?? []).filter { $0.hasPrefix("log-") }
        #expect(logs.count == 6, "each run's call ran once: \(logs)")
        await scene.stopAll()
    }
}
