import AirlockSandbox

/// The network an `airlock exec` sandbox gets beyond none: the egress proxy, which lives in
/// the full `airlock` (it needs SwiftNIO); `ExecRunner` only calls through this.
public protocol ExecNetwork: Sendable {
    /// Starts the network and points `configuration` at it; the error's description says
    /// why it could not start.
    func open(_ configuration: inout SandboxConfiguration) async throws
    /// Lines for stderr about the traffic since the last call (JSON objects with `json`).
    func takeLines(json: Bool) -> [String]
    /// Stops the network once the sandbox is gone.
    func close() async
}
