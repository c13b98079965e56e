import Foundation

/// What a transport delivers: a line the server wrote, a line too long to keep, or the
/// end of the server.
public enum MCPTransportEvent: Sendable {
    case line([UInt8])
    case oversized(Int)
    case ended(String)
}

/// A byte pipe to one MCP server: stdio carried over the guest protocol, or a local
/// process for tests and benchmarks.
public protocol MCPTransport: Sendable {
    var events: AsyncStream<MCPTransportEvent> { get }
    /// Sends one message (a newline is added). False when the server can no longer read.
    func send(_ line: Data) async -> Bool
    /// The end of what the server wrote to stderr (its log), for error messages.
    func logTail() async -> String
    /// Closes the server's input and kills it.
    func terminate() async
}
