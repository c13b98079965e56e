import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// A PostgreSQL server of the test's own, a database on it, a shared workspace, and the
/// `airlock` workers and commands a test starts against them.
final class WorkerScene: @unchecked Sendable {
    let server: TestPostgres
    let url: String
    let root: String
    var workspace: String { root + "/ws" }
    private var processes: [AirlockProcess] = []

    /// Nil (reason printed) when PostgreSQL is not installed.
    static func make() throws -> WorkerScene? {
        if let reason = TestPostgres.unavailableReason {
            print("skipped: \(reason)")
            return nil
        }
        return try WorkerScene()
    }

    private init() throws {
        server = try TestPostgres.start()
        url = try server.createDatabase("airlock")
        root = NSTemporaryDirectory() + "airlock-worker-scene-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
        // The sandbox's unprivileged uid must reach and write the workspace.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: root + "/ws")
    }

    /// Writes a script model; returns its `--model` value.
    func script(_ name: String, _ turns: [[String: Any]]) throws -> String {
        let path = root + "/\(name).json"
        try JSONSerialization.data(withJSONObject: ["turns": turns], options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return "script:" + path
    }

    /// `airlock ARGS --database URL --state-dir DIR` to its end.
    func command(_ arguments: [String], state: String = "cli", limit: Duration = .seconds(60)) async throws -> RunBinary.Outcome {
        try await RunBinary.run(arguments + ["--database", url, "--state-dir", root + "/state-" + state], limit: limit)
    }

    /// Queues a run; returns its id.
    func submit(_ task: String, model: String, _ extra: [String] = []) async throws -> String {
        let outcome = try await command(["submit", task, "--model", model, "--workspace", workspace, "--json"] + extra)
        #expect(outcome.status == 0, "submit: \(outcome.stderr)")
        return (outcome.objects.first ?? nil)?["run"] as? String ?? ""
    }

    /// Starts a worker (its own local state dir); stopped by `stopAll`.
    func worker(_ name: String, concurrency: Int = 2, lease: String = "2s", extra: [String] = []) throws -> AirlockProcess {
        let process = try AirlockProcess(["worker", "--name", name, "--concurrency", String(concurrency), "--lease", lease,
                                          "--grace", "5s", "--json", "--database", url, "--state-dir", root + "/state-" + name] + extra)
        processes.append(process)
        return process
    }

    func runs() async throws -> [[String: Any]] {
        try await command(["runs", "--json", "--limit", "500"]).objects.compactMap { $0 }
    }

    func run(_ id: String) async throws -> [String: Any]? {
        try await runs().first { $0["id"] as? String == id }
    }

    func ledger(_ run: String) async throws -> [[String: Any]] {
        let show = try await command(["show", run, "--json"])
        return (show.objects.first ?? nil)?["ledger"] as? [[String: Any]] ?? []
    }

    /// Waits until every run in `ids` is finished; false after `limit`.
    func waitFinished(_ ids: [String], limit: Duration) async throws -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            let all = try await runs()
            let finished = Set(all.filter { $0["status"] as? String == "finished" }.compactMap { $0["id"] as? String })
            if Set(ids).isSubset(of: finished) { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    func file(_ name: String) -> String {
        String(decoding: FileManager.default.contents(atPath: workspace + "/" + name) ?? Data(), as: UTF8.self)
    }

    /// Waits until `name` in the workspace satisfies `condition`.
    func waitForFile(_ name: String, limit: Duration = .seconds(30), _ condition: (String) -> Bool) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if condition(file(name)) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// SIGTERMs every worker still running and waits for it (killing it after `limit`).
    func stopAll(limit: Duration = .seconds(15)) async {
        for process in processes where process.process.isRunning {
            kill(process.pid, SIGCONT)
            kill(process.pid, SIGTERM)
        }
        for process in processes { await process.waitForExit(limit: limit) }
    }

    func remove() {
        for process in processes { process.cleanUp() }
        server.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    static func shell(_ command: String) -> [String: Any] {
        ["tool_calls": [["name": "shell", "arguments": ["command": command]]]]
    }

    static func submit(_ answer: String = "done") -> [String: Any] {
        ["tool_calls": [["name": "submit", "arguments": ["answer": answer]]]]
    }
}
