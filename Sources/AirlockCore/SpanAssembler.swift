import AirlockModels
import Crypto
import Foundation

/// Turns a run's ledger into spans one entry at a time: each span is complete at the entry
/// that ends it (`chat` at its model response, `execute_tool` at its tool result, the
/// approval wait at its answer, the root at `run_finished`), so a live exporter sends it
/// then, and a replay of the same entries yields the same spans with the same ids.
/// Ids come from the run id and the seq of the entry that opened the span (SHA-256), so a
/// resumed run continues the same trace and re-deriving never invents a new span.
public struct SpanAssembler: Sendable {
    public let run: String
    public let includeContent: Bool
    public let traceID: String
    public let rootID: String
    private var model: ModelSpec?
    private var modelText = ""
    private var firstTime: String?
    private var openChat: LedgerEntry?
    private var openTools: [String: LedgerEntry] = [:]
    // Tool spans by call id, kept after the call ends: egress entries may come later.
    private var toolSpans: [String: String] = [:]
    private var decisions: [String: JSONValue] = [:]
    private var openApprovals: [String: LedgerEntry] = [:]
    private var openSandboxes: [String: (LedgerEntry, UInt64)] = [:]
    private var inputTokens = 0, outputTokens = 0
    /// The last entry seen (its seq orders what has been turned into spans).
    public private(set) var lastSeq = 0

    public init(run: String, includeContent: Bool = false) {
        self.run = run
        self.includeContent = includeContent
        traceID = LedgerSpans.hex(SHA256.hash(data: Data("trace:\(run)".utf8)), bytes: 16)
        rootID = LedgerSpans.spanID(run, "root")
    }

    /// The spans this entry ends (usually none or one).
    public mutating func add(_ entry: LedgerEntry) -> [TraceSpan] {
        lastSeq = entry.seq
        if firstTime == nil { firstTime = entry.time }
        let payload = entry.payload
        let time = LedgerSpans.nanos(entry.time)
        switch entry.kind {
        case .runStarted:
            modelText = payload["model"]?.stringValue ?? ""
            model = ModelSpec(parsing: modelText)
        case .modelRequest:
            openChat = entry
        case .modelResponse:
            guard let request = openChat else { return [] }
            openChat = nil
            return [chatSpan(request: request, response: entry)]
        case .toolCallValidated:
            if let call = payload["call"]?.stringValue {
                openTools[call] = entry
                toolSpans[call] = LedgerSpans.spanID(run, "tool-\(entry.seq)")
            }
        case .policyDecision:
            if let call = payload["call"]?.stringValue { decisions[call] = payload }
        case .approvalRequested:
            if let call = payload["call"]?.stringValue, openApprovals[call] == nil { openApprovals[call] = entry }
        case .approvalAnswered:
            guard let call = payload["call"]?.stringValue else { return [] }
            // A rule already approved for the run answers at once: no wait to show.
            guard let asked = openApprovals.removeValue(forKey: call) else { return [] }
            return [approvalSpan(asked: asked, answer: entry)]
        case .egressRequest:
            return [LedgerSpans.egressSpan(entry, traceID: traceID,
                                           parent: payload["call"]?.stringValue.flatMap { toolSpans[$0] } ?? rootID)]
        case .toolResult:
            guard let call = payload["call"]?.stringValue, let start = openTools.removeValue(forKey: call) else { return [] }
            return [toolSpan(start: start, result: entry, call: call)]
        case .sandboxStarted:
            let id = payload["sandbox"]?.stringValue ?? "?"
            let startMs = payload["start_ms"].flatMap { value -> Double? in
                if case .double(let number) = value { return number }
                return value.intValue.map(Double.init)
            } ?? 0
            openSandboxes[id] = (entry, time - min(time, UInt64(startMs * 1_000_000)))
        case .sandboxKilled, .sandboxReplaced:
            let id = payload["sandbox"]?.stringValue ?? "?"
            guard let (start, began) = openSandboxes.removeValue(forKey: id) else { return [] }
            return [TraceSpan(traceID: traceID, spanID: LedgerSpans.spanID(run, "sandbox-\(start.seq)"), parentSpanID: rootID,
                              name: "sandbox \(id)", kind: .internal, startNanos: began, endNanos: time,
                              attributes: ["airlock.sandbox.id": .string(id),
                                           "airlock.sandbox.backend": start.payload["backend"] ?? "bwrap",
                                           "airlock.sandbox.end": .string(entry.kind.rawValue),
                                           "airlock.sandbox.start_ms": start.payload["start_ms"] ?? .null])]
        case .runFinished:
            return [rootSpan(finished: entry)]
        default:
            break
        }
        return []
    }

    /// The root span as of now, for a ledger that has not finished (`airlock export` of a
    /// run still going, or of one whose harness died): it ends at the last entry.
    public func provisionalRoot(last: LedgerEntry) -> TraceSpan {
        rootSpan(finished: nil, end: last)
    }

    private mutating func chatSpan(request: LedgerEntry, response: LedgerEntry) -> TraceSpan {
        let payload = response.payload
        var attributes: [String: JSONValue] = [
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": .string(model?.provider.rawValue ?? "unknown"),
            "gen_ai.system": .string(model?.provider.rawValue ?? "unknown"),
            "gen_ai.request.model": .string(model?.name ?? modelText),
            // OpenInference's names for the same facts: Arize Phoenix counts tokens from these.
            "openinference.span.kind": "LLM", "llm.model_name": .string(model?.name ?? modelText),
            "llm.provider": .string(model?.provider.rawValue ?? "unknown"),
        ]
        if let usage = payload["usage"] {
            let input = usage["input_tokens"]?.intValue ?? 0, output = usage["output_tokens"]?.intValue ?? 0
            inputTokens += input
            outputTokens += output
            attributes["gen_ai.usage.input_tokens"] = .int(input)
            attributes["gen_ai.usage.output_tokens"] = .int(output)
            attributes["llm.token_count.prompt"] = .int(input)
            attributes["llm.token_count.completion"] = .int(output)
            attributes["llm.token_count.total"] = .int(input + output)
        }
        if let reason = payload["finish_reason"]?.stringValue {
            attributes["gen_ai.response.finish_reasons"] = .array([.string(reason)])
        }
        if includeContent {
            attributes["gen_ai.input.messages"] = .string(CanonicalJSON.string(request.payload["last"] ?? .null))
            attributes["gen_ai.output.messages"] = .string(CanonicalJSON.string(.object([
                "text": payload["text"] ?? .null, "tool_calls": payload["tool_calls"] ?? .array([]),
            ])))
        }
        return TraceSpan(traceID: traceID, spanID: LedgerSpans.spanID(run, "chat-\(request.seq)"), parentSpanID: rootID,
                         name: "chat \(model?.name ?? modelText)", kind: .client,
                         startNanos: LedgerSpans.nanos(request.time), endNanos: LedgerSpans.nanos(response.time),
                         attributes: attributes, isError: payload["error"] != nil)
    }

    private mutating func toolSpan(start: LedgerEntry, result: LedgerEntry, call: String) -> TraceSpan {
        let payload = result.payload
        let name = start.payload["name"]?.stringValue ?? "tool"
        var attributes: [String: JSONValue] = [
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": .string(name),
            "gen_ai.tool.call.id": .string(call), "gen_ai.tool.type": "function",
            "openinference.span.kind": "TOOL", "tool.name": .string(name),
        ]
        if let code = payload["exit_code"]?.intValue { attributes["airlock.tool.exit_code"] = .int(code) }
        if let status = payload["status"]?.stringValue { attributes["airlock.tool.status"] = .string(status) }
        if let decision = decisions.removeValue(forKey: call) {
            attributes["airlock.policy.decision"] = decision["decision"] ?? .null
            if let rule = decision["rule"]?.stringValue { attributes["airlock.policy.rule"] = .string(rule) }
        }
        if includeContent {
            attributes["gen_ai.tool.call.arguments"] = .string(CanonicalJSON.string(start.payload["arguments"] ?? .null))
            attributes["gen_ai.tool.call.result"] = .string(CanonicalJSON.string(payload))
        }
        return TraceSpan(traceID: traceID, spanID: LedgerSpans.spanID(run, "tool-\(start.seq)"), parentSpanID: rootID,
                         name: "execute_tool \(name)", kind: .internal, startNanos: LedgerSpans.nanos(start.time),
                         endNanos: LedgerSpans.nanos(result.time), attributes: attributes,
                         isError: payload["status"]?.stringValue != "completed")
    }

    /// The wait for a human (or the web approver), under the tool call it gates.
    private func approvalSpan(asked: LedgerEntry, answer: LedgerEntry) -> TraceSpan {
        let call = asked.payload["call"]?.stringValue ?? ""
        var attributes: [String: JSONValue] = [
            "airlock.approval.decision": answer.payload["decision"] ?? .null,
            "airlock.approval.by": answer.payload["by"] ?? .null,
            "airlock.approval.approver": asked.payload["approver"] ?? .null,
            "gen_ai.tool.call.id": .string(call),
        ]
        if let rule = asked.payload["rule"]?.stringValue { attributes["airlock.policy.rule"] = .string(rule) }
        return TraceSpan(traceID: traceID, spanID: LedgerSpans.spanID(run, "approval-\(asked.seq)"),
                         parentSpanID: toolSpans[call] ?? rootID, name: "approval \(call)", kind: .internal,
                         startNanos: LedgerSpans.nanos(asked.time), endNanos: LedgerSpans.nanos(answer.time),
                         attributes: attributes, isError: answer.payload["decision"]?.stringValue == "deny")
    }

    private func rootSpan(finished: LedgerEntry?, end: LedgerEntry? = nil) -> TraceSpan {
        var attributes: [String: JSONValue] = [
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "airlock",
            "gen_ai.request.model": .string(model?.name ?? modelText),
            "gen_ai.provider.name": .string(model?.provider.rawValue ?? "unknown"),
            "gen_ai.usage.input_tokens": .int(inputTokens), "gen_ai.usage.output_tokens": .int(outputTokens),
            "airlock.run.id": .string(run), "openinference.span.kind": "AGENT",
        ]
        if let outcome = finished?.payload["outcome"] { attributes["airlock.run.outcome"] = outcome }
        if let code = finished?.payload["exit_code"] { attributes["airlock.run.exit_code"] = code }
        let last = finished ?? end
        return TraceSpan(traceID: traceID, spanID: rootID, parentSpanID: nil, name: "invoke_agent airlock",
                         kind: .internal, startNanos: LedgerSpans.nanos(firstTime ?? last?.time ?? ""),
                         endNanos: LedgerSpans.nanos(last?.time ?? ""), attributes: attributes,
                         isError: (finished?.payload["exit_code"]?.intValue ?? 1) != 0)
    }
}
