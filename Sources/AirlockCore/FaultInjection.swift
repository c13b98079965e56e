import Foundation
import Synchronization

/// Named points where fault-injection tests make the harness die with SIGKILL, to prove a
/// run survives its harness dying anywhere: `AIRLOCK_FAULT_KILL_AT=point` (or `point:N` for
/// the N-th time it is reached). Points: `model_request` (before a model call),
/// `model_stream` (during a streamed response), `model_response` (after the response is
/// staged, before its tool calls: not yet on disk, so a resume makes the model call again), `tool_dispatch` (before a call's frame is sent),
/// `tool_output` (while a command runs, at its first output), `tool_result` (after a call
/// returned, before its result is recorded). Unset, every point is a no-op.
enum FaultInjection {
    private static let target: (point: String, count: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["AIRLOCK_FAULT_KILL_AT"], !value.isEmpty else { return nil }
        let parts = value.split(separator: ":")
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }()
    private static let reached = Mutex<[String: Int]>([:])

    static func point(_ name: String) {
        guard let target, target.point == name else { return }
        let count = reached.withLock { counts -> Int in
            counts[name, default: 0] += 1
            return counts[name, default: 0]
        }
        if count == target.count { kill(getpid(), SIGKILL) }
    }
}
