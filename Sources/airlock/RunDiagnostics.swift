import AirlockCore
import AirlockModels
import Logging

/// The run's events as diagnostics (swift-log), for `--log-level info|debug` and log
/// collectors: ids, names, counts and timings only — never a task, an argument, an output
/// or an answer.
struct RunDiagnostics: Sendable {
    let logger: Logger

    func record(_ event: RunEvent) {
        let fields = event.fields
        func value(_ key: String) -> Logger.MetadataValue {
            switch fields[key] {
            case .string(let text)?: .string(text)
            case .int(let number)?: .stringConvertible(number)
            case .double(let number)?: .stringConvertible(number)
            case .bool(let flag)?: .stringConvertible(flag)
            default: .string("")
            }
        }
        var metadata: Logger.Metadata = ["run": .string(event.run)]
        switch event.type {
        case "run_started", "run_resumed":
            metadata["model"] = value("model")
            logger.info("\(event.type == "run_started" ? "run started" : "run resumed")", metadata: metadata)
        case "sandbox_started", "sandbox_replaced":
            metadata["start_ms"] = value("start_ms")
            logger.debug("\(event.type.replacingOccurrences(of: "_", with: " "))", metadata: metadata)
        case "tool_result":
            for key in ["name", "exit_code", "duration_ms", "call"] where fields[key] != nil { metadata[key] = value(key) }
            logger.debug("tool call ended", metadata: metadata)
        case "tool_denied", "tool_rejected":
            for key in ["name", "call", "rule"] where fields[key] != nil { metadata[key] = value(key) }
            logger.notice("\(event.type == "tool_denied" ? "tool call denied by policy" : "malformed tool call rejected")",
                          metadata: metadata)
        case "approval_requested", "approval_answered":
            for key in ["call", "name", "decision", "by"] where fields[key] != nil { metadata[key] = value(key) }
            logger.info("\(event.type.replacingOccurrences(of: "_", with: " "))", metadata: metadata)
        case "run_finished":
            for key in ["outcome", "exit_code", "steps"] where fields[key] != nil { metadata[key] = value(key) }
            logger.info("run finished", metadata: metadata)
        default:
            break
        }
    }
}
