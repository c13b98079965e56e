import AirlockModels
import Foundation

/// The harness end of one MCP session over a transport: JSON-RPC ids, the handshake,
/// paginated `tools/list`, `tools/call` with a deadline (then `notifications/cancelled`),
/// and the server's own requests and notifications. The server is untrusted: it may lie,
/// stall, flood or write garbage; each of those ends in an `MCPFailure`, never a crash.
public actor MCPClient {
    /// The stateless revision: `server/discover`, then every request carries its version,
    /// client info and capabilities in `_meta`.
    public static let modern = "2026-07-28"
    /// Handshake revisions, newest first; `initialize` offers the first and accepts any of
    /// them back.
    public static let revisions = ["2025-11-25", "2025-06-18", "2025-03-26"]
    static let clientInfo: JSONValue = .object(["name": "airlock", "version": "1"])
    /// Messages a server may send while one request waits before it counts as a flood.
    static let floodLimit = 20_000
    static let maxPages = 100

    public let name: String
    let transport: any MCPTransport
    private var nextID = 1
    private var waiting: [Int: CheckedContinuation<Result<JSONValue, MCPFailure>, Never>] = [:]
    private var broken: MCPFailure?
    private var messagesSinceRequest = 0
    private var pump: Task<Void, Never>?
    public private(set) var revision: String?
    public private(set) var serverInfo: JSONValue = .null
    public private(set) var listChanged = false
    /// Protocol slips that did not break the session (an answer to an id nobody asked).
    public private(set) var slips: [String] = []
    /// Progress notifications seen, by the request id used as their token.
    private var progress: [Int: [JSONValue]] = [:]

    public init(name: String, transport: any MCPTransport) {
        self.name = name
        self.transport = transport
    }

    public var failure: MCPFailure? { broken }

    /// Reads the server's output until it ends.
    public func start() {
        guard pump == nil else { return }
        let events = transport.events
        pump = Task { [weak self] in
            for await event in events { await self?.handle(event) }
            await self?.fail(MCPFailure(.ended, "the server's output ended"))
        }
    }

    /// Negotiates: `server/discover` at the stateless revision first; a server that does
    /// not know it (an error, or silence for half the start-up time) gets the `initialize`
    /// handshake.
    public func connect(timeout: Duration) async throws(MCPFailure) {
        let probe: JSONValue = .object(["_meta": modernMeta])
        do throws(MCPFailure) {
            let result = try await request("server/discover", probe, timeout: timeout / 2)
            if case .array(let versions)? = result["supportedVersions"], versions.contains(.string(Self.modern)) {
                revision = Self.modern
                serverInfo = result["_meta"]?["io.modelcontextprotocol/serverInfo"] ?? .null
                return
            }
        } catch {
            if error.breaksServer && error.kind != .timedOut { throw error }
        }
        try await initialize(timeout: timeout)
    }

    private var modernMeta: JSONValue {
        .object(["io.modelcontextprotocol/protocolVersion": .string(Self.modern),
                 "io.modelcontextprotocol/clientInfo": Self.clientInfo,
                 "io.modelcontextprotocol/clientCapabilities": .object([:])])
    }

    /// The `initialize` handshake: offers the newest revision, accepts an older one the
    /// server names if Airlock speaks it, then sends `notifications/initialized`.
    public func initialize(timeout: Duration) async throws(MCPFailure) {
        let params: JSONValue = .object([
            "protocolVersion": .string(Self.revisions[0]),
            "capabilities": .object(["roots": .object(["listChanged": .bool(false)])]),
            "clientInfo": Self.clientInfo,
        ])
        let result = try await request("initialize", params, timeout: timeout)
        guard let version = result["protocolVersion"]?.stringValue else {
            throw fail(MCPFailure(.protocolViolation, "the initialize answer has no protocolVersion"))
        }
        guard Self.revisions.contains(version) else {
            throw fail(MCPFailure(.protocolViolation, "the server speaks MCP \(version); Airlock speaks \(Self.revisions.joined(separator: ", "))"))
        }
        revision = version
        serverInfo = result["serverInfo"] ?? .null
        _ = await transport.send(MCPMessage.notification(method: "notifications/initialized", params: nil).encoded)
    }

    /// Every tool, following `nextCursor` (bounded, so a server cannot page forever).
    public func listTools(timeout: Duration) async throws(MCPFailure) -> [JSONValue] {
        listChanged = false
        var tools: [JSONValue] = []
        var cursor: JSONValue?
        for _ in 0..<Self.maxPages {
            let params: JSONValue = cursor.map { .object(["cursor": $0]) } ?? .object([:])
            let page = try await request("tools/list", params, timeout: timeout)
            guard case .array(let items)? = page["tools"] else {
                throw fail(MCPFailure(.protocolViolation, "the tools/list answer has no tools array"))
            }
            tools += items
            guard let next = page["nextCursor"], next != .null else { return tools }
            cursor = next
        }
        throw fail(MCPFailure(.protocolViolation, "tools/list went on for more than \(Self.maxPages) pages"))
    }

    /// Calls a tool; the answer is the MCP `CallToolResult` as sent.
    public func callTool(_ tool: String, arguments: JSONValue, timeout: Duration) async throws(MCPFailure) -> (JSONValue, [JSONValue]) {
        let id = nextID
        let result = try await request("tools/call", .object([
            "name": .string(tool), "arguments": arguments, "_meta": .object(["progressToken": .int(id)]),
        ]), timeout: timeout)
        return (result, progress.removeValue(forKey: id) ?? [])
    }

    public func request(_ method: String, _ params: JSONValue, timeout: Duration) async throws(MCPFailure) -> JSONValue {
        if let broken { throw broken }
        let id = nextID
        nextID += 1
        messagesSinceRequest = 0
        var params = params
        if revision == Self.modern, case .object(var members) = params {
            var meta = members["_meta"]?.objectMembers ?? [:]
            meta.merge(modernMeta.objectMembers) { $1 }
            members["_meta"] = .object(meta)
            params = .object(members)
        }
        let line = MCPMessage.request(id: .int(id), method: method, params: params).encoded
        let transport = self.transport
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            await self?.expire(id, method: method, after: timeout)
        }
        defer { timer.cancel() }
        // The waiter is in place before the message leaves: an answer that comes back at
        // once (an HTTP response, a fast server) always finds it.
        let answer = await withCheckedContinuation { (continuation: CheckedContinuation<Result<JSONValue, MCPFailure>, Never>) in
            if let broken {
                continuation.resume(returning: .failure(broken))
                return
            }
            waiting[id] = continuation
            Task { [weak self] in
                if !(await transport.send(line)) {
                    await self?.fail(MCPFailure(.ended, "the server no longer reads its input"))
                }
            }
        }
        return try answer.get()
    }

    private func expire(_ id: Int, method: String, after timeout: Duration) async {
        guard let continuation = waiting.removeValue(forKey: id) else { return }
        continuation.resume(returning: .failure(MCPFailure(.timedOut, "\(method) got no answer within \(Self.milliseconds(timeout)) ms and was cancelled")))
        _ = await transport.send(MCPMessage.notification(method: "notifications/cancelled", params: .object([
            "requestId": .int(id), "reason": "timed out in the harness",
        ])).encoded)
    }

    @discardableResult
    func fail(_ failure: MCPFailure) -> MCPFailure {
        if broken == nil { broken = failure }
        let all = waiting
        waiting.removeAll()
        for (_, continuation) in all { continuation.resume(returning: .failure(broken ?? failure)) }
        return broken ?? failure
    }

    private func handle(_ event: MCPTransportEvent) async {
        switch event {
        case .oversized(let size):
            fail(MCPFailure(.protocolViolation, "the server wrote a line of \(size) bytes, over the \(GuestStdioTransport.maxLineBytes)-byte cap"))
        case .ended(let reason):
            let log = await transport.logTail()
            fail(MCPFailure(.ended, reason + (log.isEmpty ? "" : "; its log ends: " + String(log.suffix(500)))))
        case .line(let bytes):
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
            messagesSinceRequest += 1
            if messagesSinceRequest > Self.floodLimit, !waiting.isEmpty {
                fail(MCPFailure(.protocolViolation, "the server sent more than \(Self.floodLimit) messages for one request (a flood)"))
                return
            }
            switch MCPMessage.decode(bytes) {
            case .failure(let error):
                let sample = String(decoding: bytes.prefix(80), as: UTF8.self)
                fail(MCPFailure(.protocolViolation, "the server wrote something that is not MCP (\(error)): \(sample)"))
            case .success(let message):
                await receive(message)
            }
        }
    }

    private func receive(_ message: MCPMessage) async {
        switch message {
        case .result(let id, let result):
            answer(id, .success(result))
        case .error(let id, let code, let text, _):
            answer(id, .failure(MCPFailure(.serverError, "the server answered error \(code): \(text)")))
        case .request(let id, let method, _):
            // Airlock offers no sampling, elicitation or roots: only ping is answered.
            let reply: MCPMessage = method == "ping" ? .result(id: id, result: .object([:]))
                : .error(id: id, code: -32601, message: "Airlock does not offer \(method)", data: nil)
            _ = await transport.send(reply.encoded)
        case .notification(let method, let params):
            switch method {
            case "notifications/tools/list_changed": listChanged = true
            case "notifications/progress":
                if case .int(let token)? = params?["progressToken"], waiting[token] != nil, (progress[token]?.count ?? 0) < 100 {
                    progress[token, default: []].append(params ?? .null)
                }
            default: break
            }
        }
    }

    private func answer(_ id: JSONValue, _ result: Result<JSONValue, MCPFailure>) {
        guard case .int(let number) = id, let continuation = waiting.removeValue(forKey: number) else {
            if slips.count < 20 { slips.append("an answer for id \(id.canonicalJSON), which no request is waiting for") }
            return
        }
        continuation.resume(returning: result)
    }

    public func terminate() async {
        pump?.cancel()
        fail(MCPFailure(.ended, "the server was stopped"))
        await transport.terminate()
    }
}

extension MCPClient {
    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
