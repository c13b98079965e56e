import Foundation

/// `--approver queue`: the run pauses and waits for `airlock approve RUN CALL` or
/// `airlock deny RUN CALL` from another shell (an answer written to the state database). The
/// wait survives the harness: a resumed run finds an answer given while it was down.
public struct QueueApprover: Approver {
    public let name = "queue"
    let store: any RunStore
    public var timeout: Duration
    public var poll: Duration = .milliseconds(200)
    let announce: @Sendable (ApprovalRequest) -> Void

    public init(store: any RunStore, timeout: Duration = .seconds(3600), announce: @escaping @Sendable (ApprovalRequest) -> Void = { _ in }) {
        self.store = store
        self.timeout = timeout
        self.announce = announce
    }

    public func decide(_ request: ApprovalRequest) async -> ApprovalAnswer {
        announce(request)
        let deadline = ContinuousClock.now + request.remaining(default: timeout)
        // Checked once even when the time is already up: an answer given while the harness
        // was down still counts.
        repeat {
            if let answer = try? await store.approvalAnswer(run: request.run, call: request.call) { return answer }
            do { try await Task.sleep(for: poll) } catch { break }
        } while ContinuousClock.now < deadline
        return ApprovalAnswer(.deny, reason: "no answer within \(request.limit(default: timeout))", by: "airlock")
    }
}
