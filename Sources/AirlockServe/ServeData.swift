import AirlockCore
import AirlockModels
import Foundation

/// What the pages and the API read and write, all through the state database's `Store`.
public struct ServeData: Sendable {
    public let store: any RunStore

    public init(store: any RunStore) { self.store = store }

    /// The outcome of an answer from the web. A refusal is a value, not an error.
    public enum AnswerOutcome: Sendable, Equatable {
        case answered(by: String)
        case runNotFound
        case notWaiting(pending: [String])
        case alreadyAnswered
    }

    public func runs(limit: Int = 200) async throws -> [RunView] {
        var views: [RunView] = []
        for record in try await store.runs(limit: limit) { views.append(try await view(record)) }
        return views
    }

    public func run(_ id: String) async throws -> RunView? {
        guard let record = try await store.run(id: id) else { return nil }
        return try await view(record)
    }

    func view(_ record: RunRecord) async throws -> RunView {
        // A worker's run is alive while a worker holds it; a local one while its hold or lock is.
        let alive = record.status != .finished && record.isDriven(stateDirectory: store.stateDirectory)
        // A paused run may have lost its harness; its question still stands until resumed.
        let pending = record.status == .finished ? 0 : try await store.pendingApprovals(run: record.id).count
        return RunView(record: record, harnessAlive: alive, pending: pending)
    }

    /// Calls waiting for an answer, oldest run first; one run's when `run` is given.
    public func pending(run: String? = nil) async throws -> [PendingApproval] {
        let records: [RunRecord]
        if let run {
            records = try await store.run(id: run).map { [$0] } ?? []
        } else {
            records = try await store.runs().filter { $0.status != .finished }.reversed()
        }
        var result: [PendingApproval] = []
        for record in records where record.status != .finished {
            let waiting = try await store.pendingApprovals(run: record.id)
            guard !waiting.isEmpty else { continue }
            let entries = try await store.ledgerEntries(run: record.id)
            let alive = record.isDriven(stateDirectory: store.stateDirectory)
            for (call, reason) in waiting {
                let validated = entries.last { $0.kind == .toolCallValidated && $0.payload["call"]?.stringValue == call }
                let asked = entries.last { $0.kind == .approvalRequested && $0.payload["call"]?.stringValue == call }
                let budget = asked?.payload["budget"]?.stringValue
                var arguments = validated?.payload["arguments"] ?? .null
                if budget != nil, let asked {
                    arguments = ["budget": asked.payload["budget"] ?? .null, "limit": asked.payload["limit"] ?? .null,
                                 "used": asked.payload["used"] ?? .null]
                }
                result.append(PendingApproval(
                    run: record.id, task: record.task, call: call,
                    tool: budget != nil ? "budget" : validated?.payload["name"]?.stringValue ?? "?",
                    arguments: arguments,
                    rule: asked?.payload["rule"]?.stringValue, reason: reason,
                    askedAt: asked?.time ?? "", harnessAlive: alive,
                    answeredBy: try await store.approvalAnswer(run: record.id, call: call)?.by, budget: budget))
            }
        }
        return result
    }

    /// Answers a call the run is waiting on; the run's harness (now or after `airlock
    /// resume`) takes it from the approvals table and writes it to the ledger.
    public func answer(run: String, call: String, decision: ApprovalAnswer.Decision, reason: String?,
                       amount: Double? = nil, by identity: String) async throws -> AnswerOutcome {
        guard let record = try await store.run(id: run), record.status != .finished else { return .runNotFound }
        let waiting = try await store.pendingApprovals(run: record.id).map(\.call)
        guard waiting.contains(call) else { return .notWaiting(pending: waiting) }
        let trimmed = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard try await store.answerApproval(run: record.id, call: call, decision: decision,
                                       reason: trimmed?.isEmpty == false ? trimmed : nil, amount: amount, by: identity) else {
            return .alreadyAnswered
        }
        return .answered(by: identity)
    }
}
