import AirlockBubblewrap
import AirlockCore
import AirlockModels
import AirlockSandbox
import AirlockStoreSQLite
import Foundation
import Glibc
import Synchronization

/// `airlock-bench batch [RUNS]`: many runs at once in one harness process.
///   1. the warm pool: taking a ready sandbox vs starting one cold (same backend, same run);
///   2. density: RUNS scripted runs in flight together in this process, each one tool call
///      sleeping 3 s, with the process's resident memory, open fds and threads sampled;
///   3. throughput: runs per minute through `airlock batch` vs `airlock run` one by one.
enum DensityBench {
    static func run(runs: Int, workspace: String) async throws -> String {
        var lines: [String] = []
        lines += try await pool(workspace: workspace, samples: 30)
        lines += try await density(runs: runs, workspace: workspace)
        lines += try await throughput(runs: 20, workspace: workspace)
        return lines.joined(separator: "\n")
    }

    /// Take from a pool of one (refilled between takes) vs `backend.start`.
    static func pool(workspace: String, samples: Int) async throws -> [String] {
        let backend = BubblewrapBackend()
        let configuration = SandboxConfiguration(workspace: workspace)
        var cold: [Double] = []
        for _ in 0..<samples {
            let began = ContinuousClock.now
            let sandbox = try await backend.start(configuration)
            cold.append((ContinuousClock.now - began).ms)
            await sandbox.kill()
        }
        let pool = WarmPool(size: 1)
        var takes: [Double] = []
        for _ in 0..<samples {
            await pool.expect([(backend: backend, configuration: configuration)])
            let deadline = ContinuousClock.now + .seconds(10)
            while await pool.readyCount == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
            let began = ContinuousClock.now
            guard let taken = await pool.take(configuration, backend: backend.name) else { throw BenchError("the pool never filled") }
            takes.append((ContinuousClock.now - began).ms)
            await taken.kill()
        }
        await pool.shutdown()
        let take = Series(name: "take", samples: takes)
        let start = Series(name: "cold", samples: cold)
        return ["warm pool, \(samples) sandboxes each way (bwrap)",
                "  cold start (backend.start → guest hello): \(fmt(start.median, 3)) ms median, p99 \(fmt(start.p99, 3)) ms",
                "  take from the pool (await pool.take): \(fmt(take.median * 1000, 1)) µs median, p99 \(fmt(take.p99 * 1000, 1)) µs → \(fmt(start.median / max(take.median, 0.000001), 0))× faster (target ≤ 1 ms p50)"]
    }

    /// `runs` loops at once in this process, each: one shell call sleeping 3 s, then submit.
    static func density(runs: Int, workspace: String) async throws -> [String] {
        let stateDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("airlock-bench-density-\(getpid())")
        defer { try? FileManager.default.removeItem(at: stateDirectory) }
        let store = try Store(stateDirectory: stateDirectory, redactor: .none)
        let before = ProcessStats.now()
        let peak = Mutex(ProcessStats())
        let sampling = Task {
            while !Task.isCancelled {
                let now = ProcessStats.now()
                peak.withLock { $0 = $0.max(now) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let script = #"{"turns": [{"tool_calls": [{"name": "shell", "arguments": {"command": "sleep 3"}}]}, {"tool_calls": [{"name": "submit", "arguments": {"answer": "ok"}}]}]}"#
        let began = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: RunOutcome.self) { group in
            for index in 0..<runs {
                let directory = workspace + "/density-\(index)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                chmod(directory, 0o777)
                group.addTask {
                    let model = try ScriptedModel(spec: ModelSpec(provider: .script, name: "density.json"), json: Data(script.utf8))
                    let configuration = RunConfiguration(task: "density \(index)", model: model.spec, limits: BudgetLimits(),
                                                         sandbox: SandboxConfiguration(workspace: directory))
                    let loop = AgentLoop(configuration: configuration, model: model, backend: BubblewrapBackend(), store: store)
                    return try await loop.run().outcome
                }
            }
            var outcomes: [RunOutcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let wall = (ContinuousClock.now - began).ms
        sampling.cancel()
        await sampling.value
        let high = peak.withLock { $0 }
        let submitted = outcomes.filter { $0 == .submitted }.count
        return ["density: \(runs) scripted runs in flight in one process (each: one shell call sleeping 3 s), SQLite on disk",
                "  \(submitted)/\(runs) submitted in \(fmt(wall / 1000, 2)) s wall (the sleep alone: 3 s)",
                "  harness resident memory: \(fmt(Double(before.rssKiB) / 1024, 1)) MiB before → peak \(fmt(Double(high.rssKiB) / 1024, 1)) MiB (target ≤ 150 MiB); \(fmt(Double(high.rssKiB - before.rssKiB) / 1024 / Double(max(runs, 1)) * 1024, 0)) KiB per run in flight",
                "  open fds: \(before.fds) before → peak \(high.fds) (\(fmt(Double(high.fds - before.fds) / Double(max(runs, 1)), 1)) per run); threads: \(before.threads) → peak \(high.threads)"]
    }

    /// The same `runs` tasks through `airlock batch --concurrency 8` and through
    /// `airlock run` one after another, each task one `true` shell call and a submit.
    static func throughput(runs: Int, workspace: String) async throws -> [String] {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let airlock = (exe as NSString).deletingLastPathComponent + "/airlock"
        guard FileManager.default.isExecutableFile(atPath: airlock) else {
            return ["throughput: skipped (no airlock executable beside airlock-bench at \(airlock))"]
        }
        let root = workspace + "/throughput"
        try FileManager.default.createDirectory(atPath: root + "/template", withIntermediateDirectories: true)
        chmod(root, 0o755)
        chmod(root + "/template", 0o777)
        let script = root + "/script.json"
        try Data(#"{"turns": [{"tool_calls": [{"name": "shell", "arguments": {"command": "true"}}]}, {"tool_calls": [{"name": "submit", "arguments": {"answer": "ok"}}]}]}"#.utf8)
            .write(to: URL(fileURLWithPath: script))
        let file = root + "/tasks.jsonl"
        try Data((1...runs).map { "{\"task\": \"t\($0)\", \"template\": \"template\"}" }.joined(separator: "\n").utf8)
            .write(to: URL(fileURLWithPath: file))
        let began = ContinuousClock.now
        let batchStatus = try launch(airlock, ["batch", file, "--concurrency", "8", "--state-dir", root + "/state-batch", "--",
                                               "--model", "script:" + script])
        let batchSeconds = (ContinuousClock.now - began).ms / 1000
        let oneByOne = ContinuousClock.now
        var failures = 0
        for index in 0..<runs {
            let directory = root + "/single-\(index)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            chmod(directory, 0o777)
            if try launch(airlock, ["run", "t\(index)", "--model", "script:" + script, "--workspace", directory,
                                    "--state-dir", root + "/state-single"]) != 0 { failures += 1 }
        }
        let singleSeconds = (ContinuousClock.now - oneByOne).ms / 1000
        return ["throughput: \(runs) tasks (one `true` call + submit each)",
                "  airlock batch --concurrency 8: \(fmt(batchSeconds, 2)) s (exit \(batchStatus)) → \(fmt(Double(runs) / batchSeconds * 60, 0)) runs/min",
                "  airlock run, one by one: \(fmt(singleSeconds, 2)) s (\(failures) failed) → \(fmt(Double(runs) / singleSeconds * 60, 0)) runs/min"
                + " → batch is \(fmt(singleSeconds / batchSeconds, 1))×"]
    }

    private static func launch(_ path: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Bounded: a stuck child is killed after two minutes.
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// This process's resident memory, open fds and threads, from /proc.
struct ProcessStats: Sendable {
    var rssKiB = 0
    var fds = 0
    var threads = 0

    static func now() -> ProcessStats {
        var stats = ProcessStats()
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("VmRSS:"), parts.count > 1 { stats.rssKiB = Int(parts[1]) ?? 0 }
            if line.hasPrefix("Threads:"), parts.count > 1 { stats.threads = Int(parts[1]) ?? 0 }
        }
        stats.fds = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
        return stats
    }

    func max(_ other: ProcessStats) -> ProcessStats {
        ProcessStats(rssKiB: Swift.max(rssKiB, other.rssKiB), fds: Swift.max(fds, other.fds), threads: Swift.max(threads, other.threads))
    }
}
