import AirlockModels
import Foundation

/// A run ended from outside its loop without an outcome of its own: taken over by another
/// harness, or handed back by a draining worker. Nothing more was written for it here.
public struct RunDetached: Error, Sendable, CustomStringConvertible {
    public var run: String
    public var interrupt: RunInterrupt

    public var description: String {
        switch interrupt {
        case .lost(let epoch):
            return "run \(run) was taken over by another harness (epoch now \(epoch)); stopped driving it and killed its sandbox"
        case .handBack:
            return "run \(run) was handed back unfinished for another worker to resume"
        case .stop(let request):
            return "run \(run) was stopped by \(request.by)"
        }
    }
}

extension AgentLoop {
    /// Runs beside the loop for the run's whole life: renews a worker's lease, looks for a
    /// stop request, and when either says the loop must end, kills the sandbox (whatever
    /// call is in flight dies with it) and cancels the loop.
    func watch(_ run: RunState, _ session: SandboxSession, cancel: @escaping @Sendable () -> Void) async {
        var renewed = ContinuousClock.now
        // A local run in a shared store holds it on the database's clock from the start, so
        // other machines never take a live run for one whose harness died.
        let holds = holding.claim == nil && store.sharedAcrossMachines
        var held: ContinuousClock.Instant?
        while !Task.isCancelled {
            if holds, held.map({ ContinuousClock.now - $0 >= holding.lease / 3 }) ?? true {
                // A failed write is tried again at the next poll; the hold outlives a few.
                if (try? await store.holdRun(run.id, lease: holding.lease)) != nil { held = .now }
            }
            do { try await Task.sleep(for: holding.poll) } catch { return }
            var interrupt: RunInterrupt?
            if let claim = holding.claim, ContinuousClock.now - renewed >= holding.lease / 3 {
                // Unreachable database: try again next time; if the lease runs out meanwhile,
                // the renewal that finally gets through says so.
                switch try? await store.renewLease(claim, lease: holding.lease) {
                case .lost(let epoch)?: interrupt = .lost(epoch: epoch)
                case .held(let stop)?:
                    renewed = .now
                    interrupt = stop.map(RunInterrupt.stop)
                case nil: break
                }
            } else if let stop = try? await store.stopRequest(run: run.id) {
                interrupt = .stop(stop)
            }
            if interrupt == nil, holding.handBack?.isRaised == true { interrupt = .handBack }
            guard let interrupt, run.interrupt(interrupt) else { continue }
            let reason: String
            switch interrupt {
            case .stop(let request): reason = "stopped by \(request.by): \(request.reason)"
            case .lost: reason = "the run was taken over by another harness"
            case .handBack: reason = "the worker is shutting down; the run is handed back"
            }
            await session.shutdown(reason: reason)
            cancel()
            return
        }
    }

    /// What the loop's end becomes when the run was interrupted from outside: a stop ends
    /// it `terminated` (who and why in the ledger); a takeover or hand-back detaches it.
    func settle(_ result: RunResult, _ run: RunState) async throws -> RunResult {
        switch run.interrupted {
        case nil:
            return result
        case .stop(let request)?:
            try await run.record(.runStopped, ["by": .string(request.by), "reason": .string(request.reason),
                                              "requested_at": .string(request.at)])
            run.emit("run_stopped", ["by": .string(request.by), "reason": .string(request.reason)])
            let reason = request.reason.isEmpty ? "stopped by \(request.by)" : "stopped by \(request.by): \(request.reason)"
            return run.result(.terminated, reason: reason)
        case .handBack?:
            _ = try? await run.record(.runHandedBack, ["worker": .string(holding.claim?.worker ?? "")])
            throw RunDetached(run: run.id, interrupt: .handBack)
        case .lost(let epoch)?:
            throw RunDetached(run: run.id, interrupt: .lost(epoch: epoch))
        }
    }
}
