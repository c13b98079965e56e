import AirlockCore
import AirlockModels
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// MCP over Streamable HTTP, spoken by the harness itself (a remote server acting with the
/// user's credentials, which never enter the sandbox). Each message is a POST; the answer
/// comes back as JSON or as an SSE stream, and its messages are handed to the client like
/// lines from a stdio server. The header values are the caller's secrets: they are sent and
/// never logged; only the URL and the status are reported.
public final class HTTPTransport: MCPTransport {
    public static let maxBodyBytes = 8 * 1024 * 1024

    public let events: AsyncStream<MCPTransportEvent>
    private let continuation: AsyncStream<MCPTransportEvent>.Continuation
    public let url: String
    private let headers: [(String, String)]
    private let client: HTTPClient
    /// `Mcp-Session-Id` from the server (handshake revisions), and the last status seen.
    private let state = Mutex<(session: String?, status: Int?, version: String?)>((nil, nil, nil))

    public init(url: String, headers: [(String, String)], client: HTTPClient = .models) {
        self.url = url
        self.headers = headers
        self.client = client
        (events, continuation) = AsyncStream<MCPTransportEvent>.makeStream(bufferingPolicy: .unbounded)
    }

    public var lastStatus: Int? { state.withLock { $0.status } }

    public func send(_ line: Data) async -> Bool {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        let message = try? JSONValue(parsing: String(decoding: line, as: UTF8.self))
        let version = message?["params"]?["_meta"]?["io.modelcontextprotocol/protocolVersion"]?.stringValue
        let (session, negotiated) = state.withLock { ($0.session, $0.version) }
        if let method = message?["method"]?.stringValue {
            request.headers.replaceOrAdd(name: "Mcp-Method", value: method)
            // 2026-07-28 mirrors the name a request acts on in a header, for routing.
            let key = ["tools/call": "name", "prompts/get": "name", "resources/read": "uri"][method]
            if let key, let name = message?["params"]?[key]?.stringValue {
                request.headers.replaceOrAdd(name: "Mcp-Name", value: Self.headerValue(name))
            }
        }
        if let header = version ?? negotiated { request.headers.replaceOrAdd(name: "MCP-Protocol-Version", value: header) }
        if let session { request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: session) }
        request.body = .bytes(ByteBuffer(bytes: line))
        do {
            let response = try await client.execute(request, timeout: .seconds(300))
            let status = Int(response.status.code)
            state.withLock { state in
                state.status = status
                if let id = response.headers.first(name: "mcp-session-id") { state.session = id }
            }
            // The handshake's answer names the revision later requests must carry.
            let body = try await response.body.collect(upTo: Self.maxBodyBytes)
            guard (200..<300).contains(status) else {
                // A request gets its refusal as a JSON-RPC error; a notification has no answer.
                if case .int(let id)? = message?["id"] {
                    let refusal = MCPMessage.error(id: .int(id), code: -32000, message: "HTTP \(status) from \(url)", data: nil)
                    continuation.yield(.line([UInt8](refusal.encoded)))
                }
                return true
            }
            let contentType = response.headers.first(name: "content-type") ?? ""
            if contentType.hasPrefix("text/event-stream") {
                var parser = SSEParser()
                for event in parser.feed(Array(buffer: body)) + parser.finish() where !event.data.isEmpty {
                    deliver(Array(event.data.utf8))
                }
            } else if body.readableBytes > 0 {
                deliver(Array(buffer: body))
            }
            return true
        } catch {
            continuation.yield(.ended("the remote server at \(url) could not be reached: \(error)"))
            return false
        }
    }

    private func deliver(_ bytes: [UInt8]) {
        if let message = try? JSONValue(parsing: String(decoding: bytes, as: UTF8.self)),
           let version = message["result"]?["protocolVersion"]?.stringValue {
            state.withLock { $0.version = version }
        }
        continuation.yield(.line(bytes))
    }

    public func logTail() async -> String { "" }

    /// Printable ASCII without edge spaces as it is; anything else in the base64 sentinel form.
    static func headerValue(_ text: String) -> String {
        let plain = text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value <= 0x7E }
            && text == text.trimmingCharacters(in: .whitespaces) && !(text.hasPrefix("=?base64?") && text.hasSuffix("?="))
        return plain ? text : "=?base64?" + Data(text.utf8).base64EncodedString() + "?="
    }

    public func terminate() async {
        continuation.finish()
    }
}
