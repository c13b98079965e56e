import AirlockCore
import AirlockModels
import AirlockStorePostgres
import AirlockStoreSQLite
import AirlockTestSupport
import Foundation
import Glibc

/// `airlock-bench queue [RUNS]`: the PostgreSQL store against the SQLite one and against
/// raw inserts, claim latency, throughput with 1, 2 and 4 workers, and stop latency. Uses
/// $AIRLOCK_BENCH_DATABASE_URL (an empty database) or starts a server of its own.
enum QueueBench {
    static func run(runs: Int) async throws -> String {
        guard let airlock = Self.airlockPath else { throw BenchError("needs the built `airlock` beside airlock-bench") }
        let server: TestPostgres? = ProcessInfo.processInfo.environment["AIRLOCK_BENCH_DATABASE_URL"] == nil ? try TestPostgres.start() : nil
        defer { server?.stop() }
        func freshDatabase() throws -> String {
            if let server { return try server.createDatabase() }
            return ProcessInfo.processInfo.environment["AIRLOCK_BENCH_DATABASE_URL"] ?? ""
        }
        let host = try BenchHost.make()
        defer { host.remove() }
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory() + "airlock-bench-queue-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var lines: [String] = []

        // 1. Durable appends: both stores and a raw insert on each engine, same disk.
        Progress.say("appends…")
        let sqlite = try Store(stateDirectory: scratch.appendingPathComponent("sqlite"), redactor: .none)
        let postgres = try await PostgresStore.open(url: try freshDatabase(), stateDirectory: scratch.appendingPathComponent("pg"), redactor: .none)
        let count = 500
        let sqliteRate = try await appendRate(sqlite, count: count)
        let postgresRate = try await appendRate(postgres, count: count)
        let rawSQLite = try rawSQLiteRate(scratch.appendingPathComponent("raw.sqlite").path, count: count)
        let rawPostgres = try await rawPostgresRate(postgres, count: count)
        lines.append("durable ledger appends (\(count) each, one transaction each)")
        lines.append("  SQLite store     \(fmt(sqliteRate, 0))/s   raw INSERT (WAL, synchronous=FULL) \(fmt(rawSQLite, 0))/s   store/raw \(fmt(ratio(sqliteRate, rawSQLite), 2))")
        lines.append("  PostgreSQL store \(fmt(postgresRate, 0))/s   raw INSERT (synchronous_commit=on) \(fmt(rawPostgres, 0))/s   store/raw \(fmt(ratio(postgresRate, rawPostgres), 2))")
        lines.append("  PostgreSQL/SQLite \(fmt(ratio(postgresRate, sqliteRate), 2))")

        // 2. Claim latency: submit → the worker's run_started, one run at a time, idle worker.
        Progress.say("claim latency…")
        let model = scratch.appendingPathComponent("script.json").path
        try #"{"turns": [{"tool_calls": [{"name": "shell", "arguments": {"command": "echo x >> calls.log"}}]}, {"tool_calls": [{"name": "submit", "arguments": {"answer": "ok"}}]}]}"#
            .write(toFile: model, atomically: true, encoding: .utf8)
        let sleepy = scratch.appendingPathComponent("sleepy.json").path
        try #"{"turns": [{"tool_calls": [{"name": "shell", "arguments": {"command": "sleep 30"}}]}, {"tool_calls": [{"name": "submit", "arguments": {"answer": "ok"}}]}]}"#
            .write(toFile: sleepy, atomically: true, encoding: .utf8)
        let claimURL = try freshDatabase()
        let claimStore = try await PostgresStore.open(url: claimURL, stateDirectory: scratch.appendingPathComponent("c"), redactor: .none)
        let claimWorkers = try startWorkers(1, airlock: airlock, url: claimURL, scratch: scratch)
        try await Task.sleep(for: .milliseconds(500))
        var claims: [Double] = []
        for _ in 0..<max(10, runs) {
            let began = ContinuousClock.now
            let id = try await submit(claimStore, model: model, workspace: host.workspace)
            while !(try await claimStore.ledgerEntries(run: id).contains { $0.kind == .runStarted }) {
                try await Task.sleep(for: .milliseconds(1))
            }
            claims.append((ContinuousClock.now - began).milliseconds)
            _ = try await waitFinished(claimStore, [id], limit: .seconds(30))
        }
        let claim = Series(name: "claim", samples: claims)
        lines.append("claim latency (submit → run_started, idle worker polling every 20 ms), \(claim.count) runs")
        lines.append("  p50 \(fmt(claim.median, 1)) ms   p99 \(fmt(claim.p99, 1)) ms   (target p50 ≤ 50 ms)")

        // 3. Stop latency: request → run finished (exit 4), a call sleeping in the sandbox.
        Progress.say("stop latency…")
        var stops: [Double] = []
        for _ in 0..<10 {
            let id = try await submit(claimStore, model: sleepy, workspace: host.workspace)
            while !(try await claimStore.ledgerEntries(run: id).contains { $0.kind == .frameSent }) {
                try await Task.sleep(for: .milliseconds(2))
            }
            try await Task.sleep(for: .milliseconds(100))
            let began = ContinuousClock.now
            _ = try await claimStore.requestStop(run: id, by: "bench", reason: "stop latency", now: Date())
            while try await claimStore.run(id: id)?.status != .finished { try await Task.sleep(for: .milliseconds(1)) }
            stops.append((ContinuousClock.now - began).milliseconds)
        }
        stop(claimWorkers)
        let stopped = Series(name: "stop", samples: stops)
        lines.append("stop latency (request → run finished, sandbox killed mid-call), \(stopped.count) runs")
        lines.append("  p50 \(fmt(stopped.median, 1)) ms   p99 \(fmt(stopped.p99, 1)) ms   (bound 100 ms)")

        // 4. Throughput with 1, 2, 4 workers (concurrency 2 each).
        var perMinute: [(Int, Double)] = []
        for workers in [1, 2, 4] {
            Progress.say("throughput with \(workers) worker(s)…")
            let url = try freshDatabase()
            let store = try await PostgresStore.open(url: url, stateDirectory: scratch.appendingPathComponent("t\(workers)"), redactor: .none)
            var ids: [String] = []
            for _ in 0..<runs { ids.append(try await submit(store, model: model, workspace: host.workspace)) }
            let began = ContinuousClock.now
            let processes = try startWorkers(workers, airlock: airlock, url: url, scratch: scratch)
            let done = try await waitFinished(store, ids, limit: .seconds(600))
            let minutes = (ContinuousClock.now - began).milliseconds / 60_000
            stop(processes)
            guard done else { throw BenchError("\(runs) runs did not finish with \(workers) worker(s)") }
            perMinute.append((workers, Double(runs) / minutes))
        }
        lines.append("throughput (\(runs) scripted runs: one shell call + submit; workers at --concurrency 2; includes worker start)")
        for (workers, rate) in perMinute {
            lines.append("  \(workers) worker(s): \(fmt(rate, 0)) runs/min   (×\(fmt(ratio(rate, perMinute[0].1), 2)) of 1 worker)")
        }
        return lines.joined(separator: "\n")
    }

    static var airlockPath: String? {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let path = (exe as NSString).deletingLastPathComponent + "/airlock"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    static func appendRate(_ store: any RunStore, count: Int) async throws -> Double {
        let run = try await store.createRun(task: "bench", model: "script:bench", workspace: "/tmp")
        let ledger = Ledger(store: store, run: run.id, redactor: Redactor.none)
        let began = ContinuousClock.now
        for index in 0..<count { try await ledger.append(.note, ["i": .int(index), "text": "a ledger entry of typical size"]) }
        return Double(count) / ((ContinuousClock.now - began).milliseconds / 1000)
    }

    static func submit(_ store: any RunStore, model: String, workspace: String) async throws -> String {
        let argv: [JSONValue] = ["bench", "--model", .string("script:" + model), "--workspace", .string(workspace)]
        return try await store.submitRun(task: "bench", model: "script:" + model, workspace: workspace, config: .object([:]),
                                         request: .object(["argv": .array(argv)]), needs: [], now: Date()).id
    }

    static func waitFinished(_ store: any RunStore, _ ids: [String], limit: Duration) async throws -> Bool {
        let end = ContinuousClock.now + limit
        var pending = Set(ids)
        while !pending.isEmpty, ContinuousClock.now < end {
            for id in pending where try await store.run(id: id)?.status == .finished { pending.remove(id) }
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        }
        return pending.isEmpty
    }

    static func startWorkers(_ count: Int, airlock: String, url: String, scratch: URL) throws -> [Process] {
        try (0..<count).map { index in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: airlock)
            process.arguments = ["worker", "--name", "bench-\(index)", "--concurrency", "2", "--database", url,
                                 "--state-dir", scratch.appendingPathComponent("w\(index)-\(UUID().uuidString.prefix(6))").path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
    }

    static func stop(_ processes: [Process]) {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for process in processes { process.waitUntilExit() }
    }
}
