import AirlockModels

/// Turns a run's ledger entries back into the events `airlock run --json` printed while it
/// ran (same `type`s, same fields), for readers that only have the ledger: the HTTP API's
/// event stream, a run on another machine. Entries with no event of their own (budget
/// charges, policy decisions, frames received, signatures) feed the state and yield nothing.
/// What the loop knew but did not record is left out: `tool_result`'s remaining `budget`.
public struct LedgerEvents: Sendable {
    private var step = 0
    private var names: [String: String] = [:]
    private var summaries: [String: String] = [:]
    private var rules: [String: JSONValue] = [:]
    private var lastCall: String?
    private var started: [String: JSONValue] = [:]

    public init() {}

    /// The events `entry` stands for (none, or one), updating what later entries need.
    public mutating func events(for entry: LedgerEntry) -> [RunEvent] {
        let payload = entry.payload.objectMembers
        let call = payload["call"]?.stringValue
        // Absent where the live event leaves a field out; `keepNulls` where it says null.
        func event(_ type: String, _ fields: [String: JSONValue], keepNulls: Bool = false) -> [RunEvent] {
            [RunEvent(type, run: entry.run, keepNulls ? fields : fields.filter { $0.value != .null })]
        }
        switch entry.kind {
        case .runStarted:
            let sandbox = payload["sandbox"]?.objectMembers ?? [:]
            started = ["task": payload["task"] ?? .null, "model": payload["model"] ?? .null,
                       "workspace": sandbox["workspace"] ?? .null]
            var fields = started
            fields["image"] = sandbox["image"]?.objectMembers["digest"]
            return event("run_started", fields)
        case .runResumed:
            step = payload["steps"]?.intValue ?? step
            return event("run_resumed", started.merging(["steps": .int(step)]) { $1 })
        case .sandboxStarted:
            return event("sandbox_started", ["sandbox": payload["sandbox"] ?? .null, "start_ms": payload["start_ms"] ?? .null,
                                             "image": payload["image"] ?? .null])
        case .modelRequest:
            step = payload["step"]?.intValue ?? step + 1
            return event("model_request", ["step": .int(step)])
        case .modelResponse:
            return payload["error"] == nil ? event("model_response", payload) : []
        case .toolCallProposed, .toolCallValidated:
            if let call, let name = payload["name"]?.stringValue {
                names[call] = name
                summaries[call] = Self.summary(name: name, arguments: payload["arguments"] ?? .null)
            }
            return []
        case .toolCallRejected:
            let name: JSONValue = call.flatMap { names[$0] }.map { .string($0) } ?? .null
            return event("tool_rejected", ["call": payload["call"] ?? .null, "name": name, "problem": payload["message"] ?? .null])
        case .policyDecision:
            if let call { rules[call] = payload["rule"] ?? .null }
            return []
        case .frameSent:
            lastCall = call
            guard let call else { return [] }
            let name: JSONValue = names[call].map { .string($0) } ?? .null
            let summary: JSONValue = summaries[call].map { .string($0) } ?? .null
            return event("tool_call", ["step": .int(step), "call": .string(call), "name": name, "summary": summary])
        case .approvalRequested:
            let budget = payload["budget"]
            let tool: JSONValue = call.flatMap { names[$0] }.map { .string($0) } ?? .null
            return event("approval_requested", ["call": payload["call"] ?? .null, "name": budget != nil ? "budget" : tool,
                                                "reason": payload["reason"] ?? .null, "budget": budget ?? .null])
        case .approvalAnswered:
            return event("approval_answered", ["call": payload["call"] ?? .null, "decision": payload["decision"] ?? .null,
                                               "by": payload["by"] ?? .null])
        case .budgetExtended:
            return event("budget_extended", ["budget": payload["budget"] ?? .null, "limit": payload["limit"] ?? .null,
                                             "by": payload["by"] ?? .null])
        case .toolResult:
            guard let call else { return [] }
            let name: JSONValue = names[call].map { .string($0) } ?? .null
            if payload["status"]?.stringValue == "denied" {
                let content = payload["content"]?.stringValue ?? ""
                let reason = content.hasPrefix(Self.deniedPrefix) ? String(content.dropFirst(Self.deniedPrefix.count)) : content
                return event("tool_denied", ["call": .string(call), "name": name, "reason": .string(reason), "rule": rules[call] ?? .null],
                             keepNulls: true)
            }
            return event("tool_result", ["call": .string(call), "name": name, "ok": .bool(payload["is_error"] != .bool(true)),
                                         "duration_ms": payload["duration_ms"] ?? .null, "exit_code": payload["exit_code"] ?? .null])
        case .sandboxReplaced:
            let last: JSONValue = lastCall.map { .string($0) } ?? .null
            return event("sandbox_replaced", ["call": last, "reason": payload["reason"] ?? .null, "replaced": payload["replaced"] ?? .null])
        case .egressRequest:
            return event("egress", payload.filter { $0.key != "started" })
        case .runStopped:
            return event("run_stopped", ["by": payload["by"] ?? .null, "reason": payload["reason"] ?? .null])
        case .runFinished:
            return event("run_finished", payload)
        default:
            return []
        }
    }

    static let deniedPrefix = "error: denied by policy: "

    /// What `Transcript.argumentSummary` shows for a validated call, from its recorded arguments.
    static func summary(name: String, arguments: JSONValue) -> String {
        let object: [String: JSONValue]
        if case .string(let text) = arguments, let parsed = try? JSONParser.parse(text) {
            object = parsed.objectMembers
        } else {
            object = arguments.objectMembers
        }
        let text = { (key: String) in object[key]?.stringValue ?? "" }
        switch name {
        case "shell": return String(text("command").prefix(80))
        case "read_file", "list_files", "edit_file": return text("path")
        case "write_file": return "\(text("path")) (\(text("content").utf8.count) bytes)"
        case "submit": return String(text("answer").prefix(80))
        default: return String(JSONValue.object(object).canonicalJSON.prefix(80))
        }
    }
}
