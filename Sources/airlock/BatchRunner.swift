import AirlockCore
import AirlockModels
import Foundation
import AirlockSandbox
import Synchronization

/// Drives a batch's runs in this process, up to `concurrency` at once, through the same
/// claim → plan → run path as `airlock worker` (so a run killed with its process is taken
/// over by `batch resume` under the resume rules: nothing finished runs again, a tool call in
/// flight is not re-run). Stops starting runs once a total budget is spent; the runs it then
/// never started end `skipped`, with the reason in their ledger.
struct BatchRunner: Sendable {
    let store: any RunStore
    let batch: BatchRecord
    let concurrency: Int
    let maxCostTotal: Double?
    let maxTokensTotal: Int?
    /// Take over runs a previous (dead) process of this batch held, without waiting for their leases.
    let reclaim: Bool
    let progress: BatchProgress
    /// Sandboxes started ahead for the next runs (`--warm N`), if any.
    let pool: WarmPool?
    let lease: Duration = .seconds(30)
    let worker = "batch:\(ProcessInfo.processInfo.hostName):\(getpid())"

    func run() async throws -> BatchSummary {
        let counters = WorkerCounters()
        let running = RunningRuns()
        let ticker = Task {
            while !Task.isCancelled {
                await refresh()
                progress.draw()
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        var stopReason: String?
        var targets: [String: SandboxTarget] = [:]
        await warm(&targets, claimed: nil, running: [])
        await withTaskGroup(of: Void.self) { group in
            while true {
                guard counters.active.load(ordering: .relaxed) < concurrency else {
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                if let reason = await spent() {
                    stopReason = reason
                    break
                }
                let claim: RunClaim?
                do {
                    claim = try await store.claimBatchRun(batch: batch.id, worker: worker, lease: lease, reclaim: reclaim)
                } catch {
                    Output.error("airlock batch: cannot claim a run: \(error)")
                    try? await Task.sleep(for: .milliseconds(500))
                    continue
                }
                guard let claim else {
                    if counters.active.load(ordering: .relaxed) == 0 { break }
                    try? await Task.sleep(for: .milliseconds(50))
                    continue
                }
                counters.active.add(1, ordering: .relaxed)
                // Its pooled sandbox is taken now, before the pool is told what comes next.
                running.ids.withLock { _ = $0.insert(claim.run) }
                let pooled = await warm(&targets, claimed: claim.run, running: running.ids.withLock { $0 })
                group.addTask {
                    await execute(claim, pooled: pooled)
                    running.ids.withLock { _ = $0.remove(claim.run) }
                    counters.active.subtract(1, ordering: .relaxed)
                }
            }
            await group.waitForAll()
        }
        await pool?.shutdown()
        if let stopReason { await skipUnstarted(reason: stopReason) }
        ticker.cancel()
        await ticker.value
        await refresh()
        progress.draw(final: true)
        return try await BatchSummary.load(store: store, batch: batch)
    }

    /// One claimed run to its end.
    private func execute(_ claim: RunClaim, pooled: PooledSandbox?) async {
        do {
            // The batch's state dir holds this machine's images, as for `airlock run --state-dir`.
            var plan = try await Worker.plan(queued: claim.run, store: store, localState: store.stateDirectory)
            plan.backend = HandOverBackend(base: plan.backend, pooled: pooled)
            let entries = try await store.ledgerEntries(run: claim.run)
            let holding = RunHolding(claim: claim, lease: lease)
            let result = try await plan.execute(claimed: claim.run, resuming: entries, holding: holding, onEvent: progress.event)
            progress.ended(run: claim.run, outcome: result.outcome.rawValue, succeeded: result.exitCode == 0, reason: result.reason)
        } catch let detached as RunDetached {
            progress.ended(run: claim.run, outcome: "detached", succeeded: false, reason: detached.description)
        } catch {
            await Worker.fail(claim, store: store, by: worker, error: error)
            progress.ended(run: claim.run, outcome: "failed", succeeded: false, reason: "\(error)")
        }
    }

    /// With a pool: takes the claimed run's sandbox out of it, then tells it the
    /// configurations of the next queued runs (in file order). `targets` caches them.
    @discardableResult
    private func warm(_ targets: inout [String: SandboxTarget], claimed: String?, running: Set<String>) async -> PooledSandbox? {
        guard let pool else { return nil }
        var pooled: PooledSandbox?
        if let claimed {
            if targets[claimed] == nil { targets[claimed] = try? await Worker.sandboxTarget(queued: claimed, store: store, localState: store.stateDirectory) }
            // Not for pods: a pod gets its run's label and a copy of the workspace when it starts.
            if let target = targets[claimed], target.backend.name != "kubernetes" {
                pooled = await pool.take(target.configuration, backend: target.backend.name)
            }
        }
        guard let runs = try? await store.batchRuns(batch: batch.id) else { return pooled }
        var upcoming: [(backend: any SandboxBackend, configuration: SandboxConfiguration)] = []
        for run in runs where run.status == .queued && run.id != claimed {
            guard upcoming.count < pool.size else { break }
            if targets[run.id] == nil { targets[run.id] = try? await Worker.sandboxTarget(queued: run.id, store: store, localState: store.stateDirectory) }
            if let target = targets[run.id], target.backend.name != "kubernetes" { upcoming.append((backend: target.backend, configuration: target.configuration)) }
        }
        // Workspaces of runs going now (pooled or not): nothing is started beside them.
        let inUse = Set(running.compactMap { targets[$0]?.configuration.workspace })
        await pool.expect(upcoming, inUse: inUse)
        return pooled
    }

    /// Why no more runs may start, once a total budget is spent.
    private func spent() async -> String? {
        guard maxCostTotal != nil || maxTokensTotal != nil, let runs = try? await store.batchRuns(batch: batch.id) else { return nil }
        let cost = runs.reduce(0) { $0 + $1.costUSD }
        let tokens = runs.reduce(0) { $0 + $1.inputTokens + $1.outputTokens }
        if let limit = maxCostTotal, cost >= limit {
            return "the batch's total cost budget ($\(limit)) was spent ($" + String(format: "%.4f", cost) + ") before this run started"
        }
        if let limit = maxTokensTotal, tokens >= limit {
            return "the batch's total token budget (\(limit)) was spent (\(tokens)) before this run started"
        }
        return nil
    }

    /// Ends the runs never started as `skipped`, each with a ledger that says why.
    private func skipUnstarted(reason: String) async {
        guard let runs = try? await store.batchRuns(batch: batch.id) else { return }
        for run in runs where run.status == .queued {
            _ = try? await store.appendLedgerEntries(run: run.id, items: [
                (.runFinished, ["outcome": "skipped", "exit_code": .int(Int(BatchSummary.someFailedExitCode)), "reason": .string(reason)]),
            ], now: { Date() })
            _ = try? await store.updateRun(run.id) {
                $0.status = .finished
                $0.outcome = "skipped"
                $0.exitCode = Int(BatchSummary.someFailedExitCode)
            }
            progress.ended(run: run.id, outcome: "skipped", succeeded: false, reason: reason)
        }
    }

    private func refresh() async {
        guard let runs = try? await store.batchRuns(batch: batch.id) else { return }
        progress.update(tokens: runs.reduce(0) { $0 + $1.inputTokens + $1.outputTokens }, cost: runs.reduce(0) { $0 + $1.costUSD })
    }
}

/// The ids of a batch's runs going now, shared with their tasks.
final class RunningRuns: Sendable {
    let ids = Mutex<Set<String>>([])
}
