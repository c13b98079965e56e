import AirlockCore
import AirlockModels
import Foundation

/// Shows a run as it happens: JSON lines on stdout with --json, else a line per step on
/// stderr (the final answer alone goes to stdout, for pipes).
struct ProgressPrinter: Sendable {
    let json: Bool
    let interactive: Bool

    func show(_ event: RunEvent) {
        if json {
            Output.line(event.json.canonicalJSON)
            return
        }
        guard let line = describe(event) else { return }
        Output.error(line)
    }

    private func describe(_ event: RunEvent) -> String? {
        let fields = event.fields
        func text(_ key: String) -> String { fields[key]?.stringValue ?? "" }
        switch event.type {
        case "run_started":
            return "▶ run \(event.run) · \(text("model")) · workspace \(text("workspace"))"
        case "sandbox_started":
            let ms = fields["start_ms"].flatMap { value -> Double? in
                if case .double(let number) = value { return number }
                return value.intValue.map(Double.init)
            } ?? 0
            return String(format: "  sandbox up in %.1f ms", ms)
        case "tool_call":
            return "  step \(fields["step"]?.intValue ?? 0) · \(text("name")) \(text("summary"))"
        case "tool_result":
            let code = fields["exit_code"]?.intValue.map { "exit \($0)" } ?? (fields["ok"] == .bool(true) ? "ok" : "error")
            return "    → \(code) · \(fields["duration_ms"]?.intValue ?? 0) ms · left: \(budget(fields["budget"]))"
        case "approval_answered":
            return "    ? \(text("decision")) by \(text("by"))"
        case "tool_denied":
            return "    ✗ denied \(text("name")): \(text("reason"))"
        case "tool_rejected":
            return "    ✗ rejected \(text("name")): \(text("problem"))"
        case "egress":
            let verdict = fields["allowed"] == .bool(true) ? "⇄" : "✗ refused"
            let bytes = (fields["bytes_up"]?.intValue ?? 0) + (fields["bytes_down"]?.intValue ?? 0)
            let why = fields["reason"]?.stringValue.map { ": \($0)" } ?? ""
            return "    \(verdict) \(text("method")) \(text("host")):\(fields["port"]?.intValue ?? 0)\(text("path")) · \(bytes) B\(why)"
        case "mcp_tools":
            let tools = (fields["tools"].flatMap { value -> [JSONValue]? in
                if case .array(let items) = value { return items }
                return nil
            } ?? []).count
            let problems = (fields["problems"].flatMap { value -> [JSONValue]? in
                if case .array(let items) = value { return items }
                return nil
            } ?? []).compactMap(\.stringValue)
            return (["  MCP: \(tools) tools offered"] + problems.map { "    ! " + $0 }).joined(separator: "\n")
        case "sandbox_replaced":
            return "    ! sandbox died (\(text("reason"))); replaced: \(fields["replaced"] == .bool(true) ? "yes" : "no")"
        case "run_finished":
            let code = fields["exit_code"]?.intValue ?? 1
            return "\(code == 0 ? "✔" : "✘") \(text("outcome")) (exit \(code)): \(text("reason"))"
        default:
            return nil
        }
    }

    private func budget(_ value: JSONValue?) -> String {
        guard case .object(let left)? = value, !left.isEmpty else { return "unlimited" }
        return left.keys.sorted().map { key in
            let amount: String = switch left[key] {
            case .int(let number)?: String(number)
            case .double(let number)?: String(format: "%.4f", number)
            default: "?"
            }
            return "\(key) \(amount)"
        }.joined(separator: ", ")
    }
}
