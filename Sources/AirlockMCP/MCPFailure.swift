/// Why an MCP request got no usable answer. Every case becomes an error result for the
/// model and a reason in the ledger; none ends the run.
public struct MCPFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The server answered with a JSON-RPC error.
        case serverError = "server_error"
        /// No answer in time (the request was cancelled, then the server killed).
        case timedOut = "timed_out"
        /// The server's process ended.
        case ended
        /// It wrote something that is not MCP: garbage, an oversized line, a flood.
        case protocolViolation = "protocol_violation"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The server is unusable after this and must be restarted.
    public var breaksServer: Bool { kind != .serverError }

    public var description: String { message }
}
