import AirlockModels
import Foundation

/// Rebuilds where a run stood from its ledger alone, so any harness process can pick up a
/// run whose harness died. The ledger records every message the model saw (`content` of
/// `tool_result` and `tool_call_rejected`), every response as received, and every budget
/// charge, so nothing has to be guessed.
public struct RunRecovery: Sendable {
    /// A tool call of the last turn and what is known of it.
    public enum CallState: Sendable, Hashable {
        /// Not yet proposed, validated or dispatched: it can simply run.
        case notStarted
        /// Proposed (and maybe validated) under this id, but no frame was sent.
        case proposed(callID: String)
        /// A frame was sent and no result recorded: its outcome is unknown.
        case interrupted(callID: String)
        /// Answered: this is the message the model saw.
        case answered(ChatMessage)
    }

    public struct PendingTurn: Sendable, Hashable {
        public var turn: AssistantTurn
        public var step: Int
        public var calls: [CallState]
    }

    /// The conversation up to the last complete exchange (pending turn excluded).
    public var messages: [ChatMessage]
    public var steps = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var costUSD = 0.0
    /// Bytes through the egress proxy, summed from the `egress_request` entries.
    public var egressBytes = 0
    /// When each call's approval was first asked, so a resumed wait keeps the policy's clock.
    public var approvalAskedAt: [String: Date] = [:]
    public var formatErrors = 0
    public var callIDs: Set<String> = []
    /// The last model turn whose tool calls were not all answered.
    public var pending: PendingTurn?
    /// Set when the model had called `submit` and only the run's end was not recorded.
    public var submittedAnswer: String?
    /// Milliseconds the run had already used (first entry to last).
    public var elapsedMilliseconds = 0

    public init(entries: [LedgerEntry], systemPrompt: String) {
        let task = entries.first { $0.kind == .runStarted }?.payload["task"]?.stringValue ?? ""
        messages = [.system(systemPrompt), .user(task)]
        var turn: PendingTurn?
        var proposedCount = 0
        var indexByCall: [String: Int] = [:]

        func flush() {
            guard let current = turn else { return }
            for state in current.calls {
                if case .answered(let message) = state { messages.append(message) }
            }
            turn = nil
        }

        for entry in entries {
            let payload = entry.payload
            let call = payload["call"]?.stringValue
            switch entry.kind {
            case .modelRequest:
                flush()
            case .modelResponse:
                guard payload["error"] == nil else { continue }
                let calls: [ToolCall]
                if case .array(let items)? = payload["tool_calls"] {
                    calls = items.map { ToolCall(id: $0["id"]?.stringValue ?? "", name: $0["name"]?.stringValue ?? "",
                                                 arguments: $0["arguments"]?.stringValue ?? "") }
                } else {
                    calls = []
                }
                let usage = payload["usage"].map {
                    Usage(inputTokens: $0["input_tokens"]?.intValue ?? 0, outputTokens: $0["output_tokens"]?.intValue ?? 0)
                }
                let assistant = AssistantTurn(text: payload["text"]?.stringValue, toolCalls: calls, usage: usage,
                                              finishReason: payload["finish_reason"]?.stringValue)
                messages.append(.assistant(assistant))
                turn = PendingTurn(turn: assistant, step: payload["step"]?.intValue ?? steps + 1,
                                   calls: Array(repeating: .notStarted, count: calls.count))
                proposedCount = 0
                indexByCall = [:]
            case .budgetCharged:
                steps = payload["steps"]?.intValue ?? steps
                inputTokens = payload["input_tokens"]?.intValue ?? inputTokens
                outputTokens = payload["output_tokens"]?.intValue ?? outputTokens
                if case .double(let cost)? = payload["cost_usd"] { costUSD = cost }
                else if let cost = payload["cost_usd"]?.intValue { costUSD = Double(cost) }
            case .approvalRequested:
                if let call, approvalAskedAt[call] == nil {
                    approvalAskedAt[call] = Date(timeIntervalSince1970: Double(LedgerSpans.nanos(entry.time)) / 1e9)
                }
            case .egressRequest:
                egressBytes += (payload["bytes_up"]?.intValue ?? 0) + (payload["bytes_down"]?.intValue ?? 0)
            case .toolCallProposed:
                guard let call, turn != nil, proposedCount < (turn?.calls.count ?? 0) else { continue }
                callIDs.insert(call)
                indexByCall[call] = proposedCount
                turn?.calls[proposedCount] = .proposed(callID: call)
                proposedCount += 1
            case .toolCallValidated:
                formatErrors = 0
                if payload["name"]?.stringValue == "submit" {
                    submittedAnswer = payload["arguments"]?["answer"]?.stringValue
                }
            case .toolCallRejected:
                formatErrors += 1
                if let call, let index = indexByCall[call], let current = turn {
                    let content = payload["content"]?.stringValue ?? "error: \(payload["message"]?.stringValue ?? "invalid call")"
                    let original = current.turn.toolCalls[index]
                    turn?.calls[index] = .answered(.tool(callID: original.id, name: original.name, content: content, isError: true))
                }
            case .frameSent:
                if let call, let index = indexByCall[call] { turn?.calls[index] = .interrupted(callID: call) }
            case .toolResult:
                if let call, let index = indexByCall[call], let current = turn {
                    let original = current.turn.toolCalls[index]
                    let content = payload["content"]?.stringValue ?? "(result not recorded)"
                    let isError = payload["is_error"] == .bool(true)
                    turn?.calls[index] = .answered(.tool(callID: original.id, name: original.name, content: content, isError: isError))
                }
            default:
                break
            }
        }
        if let current = turn {
            let complete = current.calls.allSatisfy { if case .answered = $0 { true } else { false } }
            if complete { flush() } else { pending = current }
        }
        if let first = entries.first, let last = entries.last {
            elapsedMilliseconds = Int((LedgerSpans.nanos(last.time) - min(LedgerSpans.nanos(last.time), LedgerSpans.nanos(first.time))) / 1_000_000)
        }
    }
}
