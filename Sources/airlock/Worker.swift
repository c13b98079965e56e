import AirlockCore
import AirlockModels
import AirlockSandbox
import ArgumentParser
import Dispatch
import Foundation
import Synchronization

/// The long-lived replica behind `airlock worker`: a claim loop, a heartbeat, and one task
/// per claimed run.
struct Worker: Sendable {
    let store: any RunStore
    let name: String
    let concurrency: Int
    let lease: Duration
    let grace: Duration
    let poll: Duration
    let json: Bool
    /// Sandboxes started ahead for the next runs (`--warm N`), if any.
    var pool: WarmPool? = nil

    /// The names (never the values) of the variables this worker can give a run.
    var available: Set<String> {
        Set(ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }.keys
            .filter { $0.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) != nil })
    }

    func run() async {
        let counters = WorkerCounters()
        let handBack = RunHandBack()
        let signals = Self.onTerminate {
            guard !counters.draining.exchange(true, ordering: .relaxed) else { return }
            log("worker_draining", ["grace_ms": .int(grace.milliseconds)],
                "draining: no new claims; \(counters.active.load(ordering: .relaxed)) run(s) get \(grace) to finish")
        }
        defer { signals.forEach { $0.cancel() } }
        let available = self.available
        log("worker_started", ["worker": .string(name), "concurrency": .int(concurrency), "store": .string(store.location)],
            "worker \(name): up, \(concurrency) at once, on \(store.location)")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await heartbeat(available, counters) }
            var lastError = ""
            while !counters.draining.load(ordering: .relaxed) {
                guard counters.active.load(ordering: .relaxed) < concurrency else {
                    try? await Task.sleep(for: poll)
                    continue
                }
                let claim: RunClaim?
                do {
                    claim = try await store.claimRun(worker: name, available: available, lease: lease)
                    lastError = ""
                } catch {
                    // The database is away: say so once, keep trying with the poll's rhythm.
                    if "\(error)" != lastError { Output.error("airlock worker: cannot claim: \(error)") }
                    lastError = "\(error)"
                    try? await Task.sleep(for: max(poll, .milliseconds(500)))
                    continue
                }
                guard let claim else {
                    try? await Task.sleep(for: poll)
                    continue
                }
                counters.active.add(1, ordering: .relaxed)
                group.addTask {
                    await execute(claim, handBack: handBack)
                    counters.active.subtract(1, ordering: .relaxed)
                }
            }
            // Draining: the runs in progress get the grace period, then are handed back.
            let deadline = ContinuousClock.now + grace
            while counters.active.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if counters.active.load(ordering: .relaxed) > 0 {
                handBack.raise()
                // Each run detaches itself (kills its sandbox, writes run_handed_back, releases
                // its claim); cancelling it first would cut those writes short.
                let cutoff = ContinuousClock.now + .seconds(10)
                while counters.active.load(ordering: .relaxed) > 0, ContinuousClock.now < cutoff {
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            group.cancelAll()
        }
        log("worker_stopped", ["worker": .string(name)], "worker \(name): stopped")
    }

    /// Runs one claimed run to its end, or until it is taken over or handed back.
    func execute(_ claim: RunClaim, handBack: RunHandBack) async {
        if claim.takeover { FleetMetrics.leaseTakenOver() }
        log("run_claimed", ["run": .string(claim.run), "epoch": .int(claim.epoch), "takeover": .bool(claim.takeover)],
            "worker \(name): \(claim.takeover ? "took over" : "claimed") \(claim.run) (epoch \(claim.epoch))")
        do {
            var plan = try await Self.plan(queued: claim.run, store: store)
            // Not for pods: a pod gets its run's label and a copy of the workspace when it starts.
            if let pool, plan.configuration.egress == nil, !plan.configuration.freshSandboxPerCall, plan.backend.name != "kubernetes" {
                // This run takes a ready sandbox of its configuration, if there is one; the
                // next runs are expected to look like it (another configuration drains the pool).
                let pooled = await pool.take(plan.configuration.sandbox, backend: plan.backend.name)
                // Its own workspace is in use until it ends: the pool serves runs with
                // other workspaces, or the next run here once this one's sandbox ended.
                await pool.expect(Array(repeating: (backend: plan.backend, configuration: plan.configuration.sandbox), count: pool.size),
                                  inUse: pooled == nil ? [plan.configuration.sandbox.workspace] : [])
                plan.backend = HandOverBackend(base: plan.backend, pooled: pooled)
            }
            let entries = try await store.ledgerEntries(run: claim.run)
            let printer = ProgressPrinter(json: json, interactive: false)
            let holding = RunHolding(claim: claim, lease: lease, handBack: handBack)
            let result = try await plan.execute(claimed: claim.run, resuming: entries, holding: holding, onEvent: printer.show)
            log("run_done", ["run": .string(claim.run), "exit_code": .int(Int(result.exitCode))],
                "worker \(name): \(claim.run) ended \(result.outcome.rawValue) (exit \(result.exitCode))")
        } catch let detached as RunDetached {
            if case .handBack = detached.interrupt { try? await store.releaseRun(claim) }
            log("run_detached", ["run": .string(claim.run), "reason": .string(detached.description)],
                "worker \(name): \(detached.description)")
        } catch {
            // The run cannot even start here (a bad request, a file this machine lacks): it
            // ends failed, with the reason in its ledger, rather than bouncing between workers.
            let message = "\(error)"
            await Self.fail(claim, store: store, by: name, error: error)
            log("run_failed", ["run": .string(claim.run), "error": .string(message)], "worker \(name): \(claim.run) failed: \(message)")
        }
    }

    /// The plan of a queued run, from the `airlock run` arguments it was queued with.
    /// `localState`: the state dir for this machine's files (images), when not the default.
    static func plan(queued run: String, store: any RunStore, localState: URL? = nil) async throws -> RunPlan {
        let request = try await store.queuedRequest(run: run)
        guard case .array(let items)? = request?.request["argv"] else {
            throw CLIError("run \(run) has no queued request (it was started with `airlock run`)", code: 2)
        }
        var argv = items.compactMap(\.stringValue)
        if let localState { argv += ["--state-dir", localState.path] }
        let command: RunCommand
        do { command = try RunCommand.parse(argv) } catch {
            throw CLIError(RunCommand.message(for: error), code: 2)
        }
        return try await RunPlan(command: command, store: store)
    }

    /// Where a queued run's sandbox would run, for the warm pool (nil when it has egress:
    /// its sandbox is configured with a proxy socket made at the run's start).
    static func sandboxTarget(queued run: String, store: any RunStore, localState: URL? = nil) async throws -> SandboxTarget? {
        let plan = try await plan(queued: run, store: store, localState: localState)
        guard plan.configuration.egress == nil, !plan.configuration.freshSandboxPerCall else { return nil }
        return SandboxTarget(backend: plan.backend, configuration: plan.configuration.sandbox)
    }

    /// Ends a claimed run that cannot even start here (a bad request, a file this machine
    /// lacks) as failed, with the reason in its ledger.
    static func fail(_ claim: RunClaim, store: any RunStore, by name: String, error: any Error) async {
        let message = "\(error)"
        let code = (error as? CLIError)?.code ?? 1
        let fenced = store.fenced(claim.fence)
        _ = try? await fenced.appendLedgerEntries(run: claim.run, items: [
            (.note, ["worker": .string(name), "error": .string(message)]),
            (.runFinished, ["outcome": "failed", "exit_code": .int(Int(code)), "reason": .string(message)]),
        ], now: { Date() })
        _ = try? await fenced.updateRun(claim.run) {
            $0.status = .finished
            $0.outcome = "failed"
            $0.exitCode = Int(code)
        }
    }

    /// Tells the others this worker is alive and which variables it has.
    func heartbeat(_ available: Set<String>, _ counters: WorkerCounters) async {
        while !counters.draining.load(ordering: .relaxed), !Task.isCancelled {
            try? await store.registerWorker(name: name, available: available)
            try? await Task.sleep(for: .seconds(2))
        }
    }

    func log(_ type: String, _ fields: [String: JSONValue], _ text: String) {
        if json {
            var object = fields
            object["type"] = .string(type)
            object["worker"] = .string(name)
            Output.line(JSONValue.object(object).canonicalJSON)
        } else {
            Output.error(text)
        }
    }

    /// SIGTERM and SIGINT call `handler` instead of ending the process.
    static func onTerminate(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}

/// A run's sandbox backend and configuration.
struct SandboxTarget: Sendable {
    var backend: any SandboxBackend
    var configuration: SandboxConfiguration
}

/// The worker's shared counters: draining, and how many runs are in progress.
final class WorkerCounters: Sendable {
    let draining = Atomic<Bool>(false)
    let active = Atomic<Int>(0)
}
