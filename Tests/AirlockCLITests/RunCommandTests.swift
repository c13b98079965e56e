import AirlockTestSupport
import Foundation
import GRDB
import Glibc
import Testing

/// The built `airlock` binary, for `airlock run` and the commands that read runs back.
enum RunBinary {
    static let path = AirlockProcess.binaryPath

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String

        var lines: [String] { stdout.split(separator: "\n").map(String.init) }

        /// stdout as JSON lines (nil for a line that is not a JSON object).
        var objects: [[String: Any]?] {
            lines.map { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }
        }
    }

    /// Runs `airlock` to its end; kills it after `limit` (a hang is a failure).
    static func run(_ arguments: [String], environment: [String: String] = [:],
                    limit: Duration = .seconds(60)) async throws -> Outcome {
        let process = try AirlockProcess(arguments, environment: environment)
        defer { process.cleanUp() }
        if !(await process.waitForExit(limit: limit)) {
            Issue.record("airlock \(arguments) did not finish within \(limit); killed it")
        }
        return Outcome(status: process.status, stdout: process.stdout, stderr: process.stderr)
    }
}

/// A workspace, a state dir and a model script for one CLI run, all under /tmp.
struct RunScene {
    let root: String
    var workspace: String { root + "/ws" }
    var stateDir: String { root + "/state" }

    init() throws {
        root = NSTemporaryDirectory() + "airlock-run-scene-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// Writes a `script:FILE` model and returns its `--model` value.
    func script(_ turns: [[String: Any]]) throws -> String {
        let path = root + "/script.json"
        let data = try JSONSerialization.data(withJSONObject: ["turns": turns], options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
        return "script:" + path
    }

    func run(_ options: [String], task: String = "do the task", environment: [String: String] = [:]) async throws
        -> RunBinary.Outcome {
        try await RunBinary.run(["run", task, "--workspace", workspace, "--state-dir", stateDir] + options,
                                environment: environment)
    }

    func command(_ arguments: [String]) async throws -> RunBinary.Outcome {
        try await RunBinary.run(arguments + ["--state-dir", stateDir])
    }

    static func shell(_ command: String) -> [String: Any] {
        ["tool_calls": [["name": "shell", "arguments": ["command": command]]]]
    }

    static func submit(_ answer: String = "done") -> [String: Any] {
        ["tool_calls": [["name": "submit", "arguments": ["answer": answer]]]]
    }
}

@Suite("airlock run", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(1)))
struct RunCommandTests {
    @Test("--json: run_started first, run_finished last with exit_code, type and run on every line; runs, show, verify read it back")
    func jsonEventsAndReadBack() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        let model = try scene.script([RunScene.shell("echo hi > f.txt"), RunScene.submit("all done")])
        let outcome = try await scene.run(["--model", model, "--json"])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        #expect(FileManager.default.contents(atPath: scene.workspace + "/f.txt") == Data("hi\n".utf8))

        let objects = outcome.objects
        try #require(!objects.isEmpty, "no output; stderr: \(outcome.stderr)")
        #expect(objects.allSatisfy { $0 != nil }, "every stdout line is a JSON object:\n\(outcome.stdout)")
        let events = objects.compactMap { $0 }
        let runID = try #require(events.first?["run"] as? String)
        #expect(events.allSatisfy { $0["type"] is String && ($0["run"] as? String) == runID })
        #expect(events.first?["type"] as? String == "run_started")
        let last = try #require(events.last)
        #expect(last["type"] as? String == "run_finished")
        #expect(last["exit_code"] as? Int == 0)
        #expect(last["outcome"] as? String == "submitted")
        #expect(events.filter { $0["type"] as? String == "run_finished" }.count == 1)

        let runs = try await scene.command(["runs", "--json"])
        #expect(runs.status == 0, "stderr: \(runs.stderr)")
        let listed = runs.objects.compactMap { $0 }
        #expect(listed.contains { ($0["id"] as? String) == runID }, "runs --json: \(runs.stdout)")

        let show = try await scene.command(["show", runID, "--json"])
        #expect(show.status == 0, "stderr: \(show.stderr)")
        let record = try #require(show.objects.first ?? nil, "show --json: \(show.stdout)")
        #expect((record["ledger"] as? [Any])?.isEmpty == false)
        #expect((record["tool_calls"] as? [Any])?.count == 2)

        let human = try await scene.command(["show", runID])
        #expect(human.status == 0 && human.stdout.contains("submitted"), "show: \(human.stdout) \(human.stderr)")

        let verify = try await scene.command(["verify", runID])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")

        // A tamperer with the file: drop the append-only triggers, rewrite one payload.
        let database = try DatabaseQueue(path: scene.stateDir + "/airlock.sqlite")
        try await database.write { db in
            try db.execute(sql: "DROP TRIGGER IF EXISTS ledger_no_update; DROP TRIGGER IF EXISTS ledger_no_delete")
            try db.execute(sql: "UPDATE ledger SET payload = ? WHERE run_id = ? AND seq = 3",
                           arguments: [#"{"forged":true}"#, runID])
        }
        try database.close()
        let tampered = try await scene.command(["verify", runID])
        #expect(tampered.status == 1, "verify after tampering: \(tampered.stdout) \(tampered.stderr)")
        #expect(tampered.stdout.contains("seq 3"), "names the seq: \(tampered.stdout)")
        let tamperedJSON = try await scene.command(["verify", runID, "--json"])
        #expect(tamperedJSON.status == 1)
        #expect((tamperedJSON.objects.first ?? nil)?["first_bad_seq"] as? Int == 3, "\(tamperedJSON.stdout)")
    }

    @Test("--max-steps 1 with a two-step script exits 3 and names the budget")
    func maxStepsExit3() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        let model = try scene.script([RunScene.shell("true"), RunScene.submit()])
        let outcome = try await scene.run(["--model", model, "--json", "--max-steps", "1"])
        #expect(outcome.status == 3, "stderr: \(outcome.stderr)")
        let last = try #require(outcome.objects.last ?? nil)
        #expect(last["type"] as? String == "run_finished")
        #expect(last["exit_code"] as? Int == 3)
        #expect((last["budget"] as? [String: Any])?["budget"] as? String == "steps")
    }

    @Test("a bad --model is a usage error: exit 2")
    func badModel() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        for model in ["nonsense", "frob:thing", "script:/nonexistent/airlock/script.json"] {
            let outcome = try await scene.run(["--model", model])
            #expect(outcome.status == 2, "--model \(model): exit \(outcome.status), stderr: \(outcome.stderr)")
            #expect(!outcome.stderr.isEmpty)
        }
    }

    @Test("--max-cost with an unpriced model: exit 2, and the message says how to give a price")
    func maxCostNeedsAPrice() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        let outcome = try await scene.run(["--model", "openai:unpriced-test-model", "--base-url", "http://127.0.0.1:9/v1",
                                           "--max-cost", "1"])
        #expect(outcome.status == 2, "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("--max-cost"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("openai:unpriced-test-model"))
        #expect(outcome.stderr.contains("input_per_mtok") && outcome.stderr.contains("output_per_mtok"),
                "the message shows how to give a price: \(outcome.stderr)")
    }

    @Test("the API key in airlock's environment never reaches the sandbox or the state dir")
    func keyStaysInTheHarness() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        let key = "sk-test-\(UUID().uuidString)"
        let responses = [
            RunWire.shell("call_1", "env"),
            RunWire.shell("call_2", "cat /proc/*/environ | tr '\\000' '\\n'"),
            RunWire.submit("call_3"),
        ]
        try await TestHTTPServer.with(responses) { server in
            let outcome = try await scene.run(["--model", "openai:test", "--base-url", server.baseURL + "/v1", "--json"],
                                              environment: ["OPENAI_API_KEY": key])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            let requests = server.requests
            try #require(requests.count == 3, "stderr: \(outcome.stderr)")
            #expect(requests.allSatisfy { $0.header("authorization") == "Bearer \(key)" })
            let envResult = RunWire.lastToolContent(requests[1])
            let procResult = RunWire.lastToolContent(requests[2])
            #expect(envResult.contains("PATH="), "\(envResult)")
            #expect(procResult.contains("PATH="), "\(procResult)")
            #expect(!envResult.contains(key) && !procResult.contains(key))
            #expect(!envResult.contains("OPENAI_API_KEY") && !procResult.contains("OPENAI_API_KEY"))
            let leaked = requests.contains { String(decoding: $0.body, as: UTF8.self).contains(key) }
            #expect(!leaked, "a request body holds the key")
            #expect(!outcome.stdout.contains(key) && !outcome.stderr.contains(key))
        }
        let files = FileManager.default.enumerator(atPath: scene.stateDir)?.compactMap { $0 as? String } ?? []
        #expect(files.contains("airlock.sqlite"))
        for file in files {
            let data = FileManager.default.contents(atPath: scene.stateDir + "/" + file) ?? Data()
            #expect(data.range(of: Data(key.utf8)) == nil, "the key is in \(file)")
        }
    }
}

/// Chat Completions streams for the CLI tests: a tool call split over several chunks,
/// a finish chunk, a usage chunk.
enum RunWire {
    static func call(_ id: String, _ name: String, _ arguments: [String: Any]) -> CannedResponse {
        let text = String(decoding: try! JSONSerialization.data(withJSONObject: arguments, options: [.sortedKeys]),
                          as: UTF8.self)
        let middle = text.index(text.startIndex, offsetBy: text.count / 2)
        let chunks: [[String: Any]] = [
            ["choices": [["index": 0, "delta": ["role": "assistant", "tool_calls": [[
                "index": 0, "id": id, "type": "function", "function": ["name": name, "arguments": ""]]]]]]],
            ["choices": [["index": 0, "delta": ["tool_calls": [["index": 0, "function": ["arguments": String(text[..<middle])]]]]]]],
            ["choices": [["index": 0, "delta": ["tool_calls": [["index": 0, "function": ["arguments": String(text[middle...])]]]]]]],
            ["choices": [["index": 0, "delta": [String: Any](), "finish_reason": "tool_calls"]]],
            ["choices": [Any](), "usage": ["prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15]],
        ]
        let body = chunks.map {
            "data: " + String(decoding: try! JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) + "\n\n"
        }.joined() + "data: [DONE]\n\n"
        return .sse(body)
    }

    static func shell(_ id: String, _ command: String) -> CannedResponse { call(id, "shell", ["command": command]) }
    static func submit(_ id: String) -> CannedResponse { call(id, "submit", ["answer": "done"]) }

    /// The content of the last `tool` message in a request body.
    static func lastToolContent(_ request: RecordedRequest) -> String {
        let json = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any]
        let messages = json?["messages"] as? [[String: Any]] ?? []
        return messages.last { $0["role"] as? String == "tool" }?["content"] as? String ?? ""
    }
}
