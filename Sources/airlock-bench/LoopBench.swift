import AirlockCore
import AirlockStoreSQLite
import AirlockModels
import AirlockProtocol
import AirlockSandbox
import Foundation
import GRDB
import Synchronization
import AirlockBubblewrap

/// `airlock-bench loop`: the harness's overhead per step with the scripted model and a
/// tool that does next to nothing in the sandbox (`list_files` of an empty directory),
/// excluding the sandbox's own time: each step's wall time minus the median of the same
/// guest call made directly on a warm sandbox. Measured with the state dir on disk (every
/// ledger append is fsync'd) and on tmpfs (what is left is the harness's CPU), each against
/// one fsync'd SQLite commit (a one-row INSERT transaction, same settings, same directory)
/// measured in the same run, with the commits a step made counted by the store.
enum LoopBench {
    static func run(steps: Int, workspace: String) async throws -> String {
        let raw = try await rawCall(workspace: workspace, count: steps)
        var lines = ["agent loop, \(steps) steps of list_files with the scripted model",
                     "  guest round trip alone (list_files on a warm sandbox): \(fmt(raw.median, 3)) ms median"]
        for (label, base) in [("state dir on disk", NSTemporaryDirectory()), ("state dir on tmpfs", "/dev/shm/")]
            where FileManager.default.fileExists(atPath: base) {
            let (perStep, commits, synced) = try await stepTimes(steps: steps, workspace: workspace, stateBase: base)
            let overhead = Series(name: label, samples: perStep.samples.map { max(0, $0 - raw.median) })
            let commit = try commitTime(stateBase: base, count: max(steps, 20))
            lines.append("  \(label): step \(fmt(perStep.median, 3)) ms median → harness overhead \(fmt(overhead.median, 3)) ms median, p99 \(fmt(overhead.p99, 3)) ms")
            lines.append("    \(fmt(commits, 2)) commits per step, \(fmt(synced, 2)) of them fsync'd; one fsync'd SQLite commit here: \(fmt(commit.median, 3)) ms median → overhead = \(fmt(overhead.median / max(commit.median, 0.000001), 2)) × one commit (target ≤ 2×)")
        }
        return lines.joined(separator: "\n")
    }

    private static func rawCall(workspace: String, count: Int) async throws -> Series {
        let sandbox = try await BubblewrapBackend().start(SandboxConfiguration(workspace: workspace))
        var samples: [Double] = []
        for index in 0..<(count + 5) {
            let began = ContinuousClock.now
            _ = try await sandbox.guest.call(.listFiles(PathRequest(path: "empty")))
            if index >= 5 { samples.append((ContinuousClock.now - began).ms) }
        }
        await sandbox.kill()
        return Series(name: "raw", samples: samples)
    }

    /// One-row INSERT transactions on a fresh WAL database with `synchronous = FULL`: the
    /// price of one durable commit in `stateBase`.
    private static func commitTime(stateBase: String, count: Int) throws -> Series {
        let path = stateBase + "airlock-bench-commit-\(getpid()).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let queue = try DurableSQLite.open(path)
        var samples: [Double] = []
        for index in 0..<(count + 5) {
            let began = ContinuousClock.now
            try queue.write { db in try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [index, "a ledger entry of typical size"]) }
            if index >= 5 { samples.append((ContinuousClock.now - began).ms) }
        }
        return Series(name: "commit", samples: samples)
    }

    private static func stepTimes(steps: Int, workspace: String, stateBase: String) async throws -> (Series, Double, Double) {
        let stateDirectory = URL(fileURLWithPath: stateBase).appendingPathComponent("airlock-bench-loop-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: stateDirectory) }
        let turn = #"{"tool_calls": [{"name": "list_files", "arguments": {"path": "empty"}}], "usage": {"input_tokens": 10, "output_tokens": 5}}"#
        let script = #"{"turns": ["# + Array(repeating: turn, count: steps).joined(separator: ",")
            + #", {"tool_calls": [{"name": "submit", "arguments": {"answer": "done"}}]}]}"#
        let model = try ScriptedModel(spec: ModelSpec(provider: .script, name: "bench.json"), json: Data(script.utf8))
        let store = try Store(stateDirectory: stateDirectory, redactor: .none)
        let marks = Mutex<[(ContinuousClock.Instant, Int, Int)]>([])
        let configuration = RunConfiguration(task: "bench", model: model.spec, limits: BudgetLimits(),
                                             sandbox: SandboxConfiguration(workspace: workspace))
        let loop = AgentLoop(configuration: configuration, model: model, backend: BubblewrapBackend(), store: store) { event in
            if event.type == "model_request" { marks.withLock { $0.append((.now, store.commits.value, store.commits.synced)) } }
        }
        let result = try await loop.run()
        guard result.exitCode == 0 else { throw BenchError("the bench run ended \(result.outcome): \(result.reason)") }
        let taken = marks.withLock { $0 }
        let instants = taken.map(\.0)
        let durations = zip(instants.dropFirst(), instants).map { ($0 - $1).ms }
        let spans = Double(max(taken.count - 1, 1))
        let commits = Double((taken.last?.1 ?? 0) - (taken.first?.1 ?? 0)) / spans
        let synced = Double((taken.last?.2 ?? 0) - (taken.first?.2 ?? 0)) / spans
        return (Series(name: "step", samples: Array(durations.dropFirst(3))), commits, synced)
    }
}
