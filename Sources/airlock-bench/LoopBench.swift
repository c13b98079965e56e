import AirlockCore
import AirlockStoreSQLite
import AirlockModels
import AirlockProtocol
import AirlockSandbox
import Foundation
import Synchronization
import AirlockBubblewrap

/// `airlock-bench loop`: the harness's overhead per step with the scripted model and a
/// tool that does next to nothing in the sandbox (`list_files` of an empty directory),
/// excluding the sandbox's own time: each step's wall time minus the median of the same
/// guest call made directly on a warm sandbox. Measured with the state dir on disk (every
/// ledger append is fsync'd) and on tmpfs (what is left is the harness's CPU).
enum LoopBench {
    static func run(steps: Int, workspace: String) async throws -> String {
        let raw = try await rawCall(workspace: workspace, count: steps)
        var lines = ["agent loop, \(steps) steps of list_files with the scripted model",
                     "  guest round trip alone (list_files on a warm sandbox): \(fmt(raw.median, 3)) ms median"]
        for (label, base) in [("state dir on disk", NSTemporaryDirectory()), ("state dir on tmpfs", "/dev/shm/")]
            where FileManager.default.fileExists(atPath: base) {
            let perStep = try await stepTimes(steps: steps, workspace: workspace, stateBase: base)
            let overhead = Series(name: label, samples: perStep.samples.map { max(0, $0 - raw.median) })
            lines.append("  \(label): step \(fmt(perStep.median, 3)) ms median → harness overhead \(fmt(overhead.median, 3)) ms median, p99 \(fmt(overhead.p99, 3)) ms")
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

    private static func stepTimes(steps: Int, workspace: String, stateBase: String) async throws -> Series {
        let stateDirectory = URL(fileURLWithPath: stateBase).appendingPathComponent("airlock-bench-loop-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: stateDirectory) }
        let turn = #"{"tool_calls": [{"name": "list_files", "arguments": {"path": "empty"}}], "usage": {"input_tokens": 10, "output_tokens": 5}}"#
        let script = #"{"turns": ["# + Array(repeating: turn, count: steps).joined(separator: ",")
            + #", {"tool_calls": [{"name": "submit", "arguments": {"answer": "done"}}]}]}"#
        let model = try ScriptedModel(spec: ModelSpec(provider: .script, name: "bench.json"), json: Data(script.utf8))
        let store = try Store(stateDirectory: stateDirectory, redactor: .none)
        let marks = Mutex<[ContinuousClock.Instant]>([])
        let configuration = RunConfiguration(task: "bench", model: model.spec, limits: BudgetLimits(),
                                             sandbox: SandboxConfiguration(workspace: workspace))
        let loop = AgentLoop(configuration: configuration, model: model, backend: BubblewrapBackend(), store: store) { event in
            if event.type == "model_request" { marks.withLock { $0.append(.now) } }
        }
        let result = try await loop.run()
        guard result.exitCode == 0 else { throw BenchError("the bench run ended \(result.outcome): \(result.reason)") }
        let instants = marks.withLock { $0 }
        let durations = zip(instants.dropFirst(), instants).map { ($0 - $1).ms }
        return Series(name: "step", samples: Array(durations.dropFirst(3)))
    }
}
