import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// The runs API of a real `airlock serve --database` with real workers: the documented
/// Python client, bad submissions, the event stream resumed, an approval after a takeover,
/// and cancel.
@Suite("airlock serve: runs API", .serialized, .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(3)))
struct APICLITests {
    /// Starts `airlock serve` on a free port; returns the process and its base URL.
    static func serve(_ scene: WorkerScene) async throws -> (AirlockProcess, String) {
        let process = try AirlockProcess(["serve", "--port", "0", "--database", scene.url, "--state-dir", scene.root + "/state-serve"])
        var base = ""
        _ = await process.waitForOutput { output in
            guard let match = output.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\//) else { return false }
            base = "http://127.0.0.1:\(match.output.1)"
            return true
        }
        #expect(!base.isEmpty, "serve did not start: \(process.stderr)")
        return (process, base)
    }

    /// `python3 -c CODE ARGS…` with a small HTTP helper `req(method, url, body, headers)` in scope.
    static func python(_ code: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let prelude = """
            import json, sys, urllib.request, urllib.error
            def req(method, url, body=None, headers=None):
                data = json.dumps(body).encode() if body is not None else None
                h = {"Content-Type": "application/json", **(headers or {})}
                if method == "POST":
                    session = urllib.request.urlopen(url.split("/api/")[0] + "/api/session", timeout=60).read()
                    h["X-Airlock-CSRF"] = json.loads(session)["csrf"]
                r = urllib.request.Request(url, data=data, method=method, headers=h)
                try:
                    with urllib.request.urlopen(r, timeout=60) as resp: return resp.status, resp.read().decode()
                except urllib.error.HTTPError as e: return e.code, e.read().decode()

            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", prelude + code] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static var clientPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/api/client.py").path
    }

    @Test("the documented Python client submits a run and streams it to run_finished; exit code passed through")
    func documentedClient() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let (serve, base) = try await Self.serve(scene)
        defer { serve.cleanUp() }
        _ = try scene.worker("w")
        let model = try scene.script("s", [WorkerScene.shell("echo api >> log"), WorkerScene.submit("from the api")])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.clientPath, "say hi", String(model), scene.workspace]
        process.environment = ["AIRLOCK_URL": base, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        await scene.stopAll()
        #expect(process.terminationStatus == 0, "client: \(output)")
        #expect(output.contains("run_started") && output.contains("tool_result") && output.contains("run_finished"), "\(output)")
        #expect(scene.file("log") == "api\n")
    }

    @Test("a malformed POST /api/runs gets a 400 naming the field; nothing is queued")
    func badSubmissions() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let (serve, base) = try await Self.serve(scene)
        defer { serve.cleanUp() }
        let cases: [(String, String)] = [
            (#"{"model": "script:/x.json", "workspace": "/tmp"}"#, "task"),
            (#"{"task": "t", "model": "script:/x.json"}"#, "workspace"),
            (#"{"task": "t", "model": "script:/x.json", "workspace": "relative/dir"}"#, "workspace"),
            (#"{"task": "t", "model": "openai:x", "workspace": "/tmp", "max_steps": "many"}"#, "max_steps"),
            (#"{"task": "t", "model": "openai:x", "workspace": "/tmp", "max_steps": 0}"#, "max_steps"),
            (#"{"task": "t", "model": "openai:x", "workspace": "/tmp", "no_such_option": 1}"#, "no_such_option"),
            (#"{"task": "t", "model": "openai:x", "workspace": "/tmp", "database": "postgres://x"}"#, "database"),
            (#"{"task": "t", "model": "nonsense", "workspace": "/tmp"}"#, "model"),
            (#"[1, 2]"#, "body"),
        ]
        for (body, field) in cases {
            let result = try Self.python("""
                s, b = req("POST", sys.argv[1] + "/api/runs", json.loads(sys.argv[2]))
                print(s); print(b)
                """, [base, body])
            let lines = result.output.split(separator: "\n", maxSplits: 1).map(String.init)
            #expect(lines.first == "400", "\(body): \(result.output)")
            let answer = (try? JSONSerialization.jsonObject(with: Data((lines.last ?? "").utf8))) as? [String: Any]
            #expect(answer?["field"] as? String == field, "\(body): \(result.output)")
        }
        #expect(try await scene.runs().isEmpty)
    }

    @Test("an approval answered through the API while the run's worker is dead, after another took it over; the stream resumes with Last-Event-ID")
    func approvalAfterTakeoverAndResumedStream() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let (serve, base) = try await Self.serve(scene)
        defer { serve.cleanUp() }
        let policy = scene.root + "/policy.yaml"
        try "rules:\n  - program: touch\n    decision: ask\n    reason: needs a nod\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let model = try scene.script("s", [WorkerScene.shell("touch approved.txt"), WorkerScene.submit()])
        let id = try await scene.submit("ask", model: model, ["--policy", policy, "--approver", "web"])
        let first = try scene.worker("first", lease: "1s")
        // Wait until the run asks, then kill its worker.
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end, !(try await scene.ledger(id).contains { $0["kind"] as? String == "approval_requested" }) {
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(first.pid, SIGKILL)
        _ = await first.waitForExit(limit: .seconds(5))
        let second = try scene.worker("second", lease: "1s")
        // Wait for the takeover before answering.
        while ContinuousClock.now < end + .seconds(30),
              (try await scene.ledger(id).filter { $0["kind"] as? String == "run_claimed" }.count) < 2 {
            try await Task.sleep(for: .milliseconds(100))
        }
        let call = try await scene.ledger(id).first { $0["kind"] as? String == "approval_requested" }
            .flatMap { ($0["payload"] as? [String: Any])?["call"] as? String } ?? ""
        let answer = try Self.python("""
            s, b = req("POST", sys.argv[1] + "/api/approve", {"run": sys.argv[2], "call": sys.argv[3]})
            print(s, b)
            """, [base, id, call])
        #expect(answer.output.hasPrefix("200"), "\(answer.output)")
        #expect(try await scene.waitFinished([id], limit: .seconds(60)), "second: \(second.stderr)")
        #expect(FileManager.default.fileExists(atPath: scene.workspace + "/approved.txt"))
        #expect(try await scene.run(id)?["exit_code"] as? Int == 0)

        // The stream from the start, then resumed after the id of its third event: only what followed.
        let stream = try Self.python("""
            import urllib.request
            def events(headers):
                r = urllib.request.Request(sys.argv[1] + "/api/runs/" + sys.argv[2] + "/events", headers=headers)
                out, ident = [], None
                for line in urllib.request.urlopen(r, timeout=60):
                    if line.startswith(b"id: "): ident = int(line[4:])
                    if line.startswith(b"data: "): out.append((ident, json.loads(line[6:])))
                return out
            everything = events({})
            third = everything[2][0]
            resumed = events({"Last-Event-ID": str(third)})
            print(json.dumps({"ids": [i for i, _ in everything], "third": third,
                              "resumed": [[i, e] for i, e in resumed], "all": [[i, e] for i, e in everything],
                              "types": [e["type"] for _, e in everything], "runs": list({e["run"] for _, e in everything})}))
            """, [base, id])
        let object = (try? JSONSerialization.jsonObject(with: Data((stream.output.split(separator: "\n").last ?? "").utf8))) as? [String: Any]
        let ids = object?["ids"] as? [Int] ?? []
        #expect(ids.count > 5 && ids == ids.sorted(), "ids follow the ledger: \(stream.output)")
        let third = object?["third"] as? Int ?? 0
        let all = object?["all"] as? [[Any]] ?? []
        let resumed = object?["resumed"] as? [[Any]] ?? []
        let after = all.filter { ($0.first as? Int ?? 0) > third }
        #expect(!resumed.isEmpty && resumed.count == after.count, "\(stream.output)")
        #expect(zip(resumed, after).allSatisfy { ($0.last as? [String: Any] ?? [:]) as NSDictionary == ($1.last as? [String: Any] ?? [:]) as NSDictionary },
                "the resumed stream is the tail of the whole one")
        // The objects of `--json`: its types, not the ledger's kinds.
        let types = object?["types"] as? [String] ?? []
        #expect(types.first == "run_started" && types.last == "run_finished", "\(types)")
        #expect(Set(types).isSuperset(of: ["model_request", "model_response", "tool_call", "tool_result", "approval_requested", "approval_answered"]),
                "\(types)")
        #expect(!types.contains("frame_sent") && !types.contains("budget_charged") && !types.contains("policy_decision"), "\(types)")
        #expect(object?["runs"] as? [String] == [id])
        let answered = try await scene.ledger(id).first { $0["kind"] as? String == "approval_answered" }
        #expect(((answered?["payload"] as? [String: Any])?["by"] as? String)?.hasPrefix("web:") == true)
        await scene.stopAll()
    }

    @Test("POST /api/runs/{id}/cancel stops a running call; the run ends with exit 4, the API's identity in the ledger")
    func cancelThroughTheAPI() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let (serve, base) = try await Self.serve(scene)
        defer { serve.cleanUp() }
        let model = try scene.script("s", [WorkerScene.shell("echo started >> log; sleep 30"), WorkerScene.submit()])
        let id = try await scene.submit("cancel me", model: model)
        _ = try scene.worker("w")
        #expect(await scene.waitForFile("log") { $0.contains("started") })
        let result = try Self.python("""
            s, b = req("POST", sys.argv[1] + "/api/runs/" + sys.argv[2] + "/cancel", {"reason": "from the api"})
            print(s, b)
            """, [base, id])
        #expect(result.output.hasPrefix("202"), "\(result.output)")
        #expect(try await scene.waitFinished([id], limit: .seconds(10)))
        #expect(try await scene.run(id)?["exit_code"] as? Int == 4)
        let stopped = try await scene.ledger(id).first { $0["kind"] as? String == "run_stopped" }
        let payload = stopped?["payload"] as? [String: Any]
        #expect(payload?["reason"] as? String == "from the api" && (payload?["by"] as? String)?.hasPrefix("web:") == true)
        await scene.stopAll()
    }
}
