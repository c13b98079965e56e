import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a call that a run (started with --approver web) is waiting on.",
        discussion: """
        Without CALL, lists the calls the run is waiting on. The answer is recorded with your \
        user name and the time; the run's ledger records it when the run takes it — also when \
        the run is resumed after its harness died.

        A budget that ran out under `on_budget_exhausted: ask` waits as call budget-N: answer \
        it with --extend AMOUNT (in the budget's unit: steps, tokens, USD, seconds or bytes), or end it with \
        `airlock deny RUN budget-N` (exit 3) or `--terminate` (exit 4).
        """)

    @Argument(help: "The run (id, unique prefix, or 'latest').")
    var run: String

    @Argument(help: "The call id (see `airlock approve RUN`).")
    var call: String?

    @Flag(name: .long, help: "Approve every later call of the same rule in this run too.")
    var rule = false

    @Option(name: .long, help: "For a budget question (budget-N): how much to add to the budget that ran out, in its unit (steps, tokens, USD).")
    var extend: Double?

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let budgetQuestion = call?.hasPrefix("budget-") == true
            if let extend {
                guard budgetQuestion else { throw CLIError("--extend answers a budget question (budget-N), not \(call ?? "a run")") }
                guard extend > 0, extend.isFinite else { throw CLIError("--extend needs a positive amount, not \(extend)") }
            } else if budgetQuestion, let call {
                throw CLIError("\(call) is a budget that ran out: answer it with --extend AMOUNT, or `airlock deny \(run) \(call)`")
            }
            try await Answering.answer(run: run, call: call, decision: extend != nil ? .extend : rule ? .approveRule : .approve,
                                       reason: nil, amount: extend, state: state)
        }
    }
}

struct DenyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deny",
        abstract: "Deny a call that a run (started with --approver web) is waiting on; the reason goes to the model.")

    @Argument(help: "The run (id, unique prefix, or 'latest').")
    var run: String

    @Argument(help: "The call id (see `airlock approve RUN`).")
    var call: String?

    @Option(name: .long, help: "Why; the model is told.")
    var reason: String?

    @Flag(name: .long, help: "End the run instead (exit 4).")
    var terminate = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            try await Answering.answer(run: run, call: call, decision: terminate ? .terminate : .deny, reason: reason, amount: nil, state: state)
        }
    }
}

enum Answering {
    static func answer(run: String, call: String?, decision: ApprovalAnswer.Decision, reason: String?,
                       amount: Double?, state: StateOptions) async throws {
        let store = try await state.open()
        let record = try await RunLookup.resolve(run, in: store)
        let pending = try await store.pendingApprovals(run: record.id)
        guard let call else {
            if pending.isEmpty {
                Output.line("\(record.id) is not waiting for an approval")
            } else {
                for (call, why) in pending { Output.line("\(call)\t\(why)") }
            }
            return
        }
        guard pending.contains(where: { $0.call == call }) else {
            throw CLIError("\(record.id) is not waiting for call \(call)"
                           + (pending.isEmpty ? "" : " (waiting: \(pending.map(\.call).joined(separator: ", ")))"))
        }
        let who = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
        guard try await store.answerApproval(run: record.id, call: call, decision: decision, reason: reason,
                                                 amount: amount, by: who) else {
            throw CLIError("call \(call) of \(record.id) already has an answer")
        }
        Output.line("\(decision.rawValue): \(record.id) \(call) (by \(who))")
    }
}
