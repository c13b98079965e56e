import AirlockModels
import Foundation
import Synchronization

/// `airlock stop`, the run page's Stop button and the API's cancel: records the request
/// (the run's holder acts on it), ends a queued run at once, and optionally waits.
public struct RunStopper: Sendable {
    public let store: any RunStore

    public init(store: any RunStore) { self.store = store }

    public struct Outcome: Sendable {
        public var run: String
        public var ok: Bool
        public var status: String
        public var exitCode: Int?
        public var message: String

        public var text: String { message }

        public var json: JSONValue {
            ["type": "run_stop", "run": .string(run), "ok": .bool(ok), "status": .string(status),
             "exit_code": exitCode.map { .int($0) } ?? .null, "message": .string(message)]
        }
    }

    public func stop(_ run: String, by: String, reason: String, wait: Duration?) async throws -> Outcome {
        guard let record = try await store.run(id: run) else { throw StoreError.runNotFound(run) }
        if record.status == .finished {
            return Outcome(run: run, ok: false, status: "finished", exitCode: record.exitCode,
                           message: "run \(run) already finished (\(record.outcome ?? "?"), exit \(record.exitCode ?? 1))")
        }
        let now = Date()
        _ = try await store.requestStop(run: run, by: by, reason: reason, now: now)
        if record.status == .queued, try await endQueued(run, by: by, reason: reason, at: now) {
            return Outcome(run: run, ok: true, status: "finished", exitCode: 4, message: "run \(run) was queued; it is ended (exit 4)")
        }
        guard let wait else {
            return Outcome(run: run, ok: true, status: record.status.rawValue, exitCode: nil,
                           message: "stop requested for \(run); its harness ends it")
        }
        let deadline = ContinuousClock.now + wait
        while ContinuousClock.now < deadline {
            if let now = try await store.run(id: run), now.status == .finished {
                return Outcome(run: run, ok: true, status: "finished", exitCode: now.exitCode,
                               message: "run \(run) stopped (\(now.outcome ?? "?"), exit \(now.exitCode ?? 1))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return Outcome(run: run, ok: false, status: "running", exitCode: nil,
                       message: "stop requested for \(run), but it did not end within \(wait); is its harness alive? (`airlock runs`)")
    }

    /// A queued run has no holder: it is finished here, in one transaction that a claim
    /// cannot interleave with, and its ledger says who stopped it.
    private func endQueued(_ run: String, by: String, reason: String, at time: Date) async throws -> Bool {
        let changed = Mutex(false)
        try await store.updateRun(run) { record in
            guard record.status == .queued else { return }
            changed.withLock { $0 = true }
            record.status = .finished
            record.outcome = RunOutcome.terminated.rawValue
            record.exitCode = Int(RunOutcome.terminated.exitCode)
        }
        guard changed.withLock({ $0 }) else { return false }
        let words = reason.isEmpty ? "stopped by \(by) while queued" : "stopped by \(by) while queued: \(reason)"
        _ = try await store.appendLedgerEntries(run: run, items: [
            (.runStopped, ["by": .string(by), "reason": .string(reason), "requested_at": .string(Timestamp.rfc3339(time))]),
            (.runFinished, ["outcome": .string(RunOutcome.terminated.rawValue), "exit_code": .int(4), "reason": .string(words)]),
        ], now: { Date() })
        return true
    }
}
