import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A reply the test server sends: head, then body chunks as separate writes with pauses
/// so the client really sees them split, then either the end or a dropped connection.
public struct CannedResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var chunks: [[UInt8]]
    public var pause: Duration
    public var delayBeforeHead: Duration?
    /// Close the connection after the chunks, without ending the body.
    public var dropConnection: Bool

    public init(status: Int = 200, headers: [(String, String)] = [], chunks: [[UInt8]] = [],
                pause: Duration = .milliseconds(3), delayBeforeHead: Duration? = nil,
                dropConnection: Bool = false) {
        self.status = status
        self.headers = headers
        self.chunks = chunks
        self.pause = pause
        self.delayBeforeHead = delayBeforeHead
        self.dropConnection = dropConnection
    }

    public static func json(_ body: String, status: Int = 200,
                            headers: [(String, String)] = []) -> CannedResponse {
        CannedResponse(status: status, headers: [("content-type", "application/json")] + headers,
                       chunks: [Array(body.utf8)])
    }

    /// An event stream whose bytes are cut at every `cut` bytes, ignoring UTF-8 boundaries.
    public static func sse(_ text: String, cut: Int = 7, drop: Bool = false) -> CannedResponse {
        CannedResponse(headers: [("content-type", "text/event-stream")],
                       chunks: split(Array(text.utf8), every: cut), dropConnection: drop)
    }

    public static func split(_ bytes: [UInt8], every size: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: size).map {
            Array(bytes[$0..<min($0 + size, bytes.count)])
        }
    }
}

public struct RecordedRequest: Sendable {
    public var method: String
    public var uri: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, uri: String, headers: [(String, String)], body: [UInt8]) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The body as text (lossy for non-UTF-8 bytes).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A loopback HTTP/1.1 server scripted with a queue of canned responses; it records every
/// request so tests can check headers and the exact bytes sent.
public final class TestHTTPServer: Sendable {
    private struct State {
        var queue: [CannedResponse]
        var requests: [RecordedRequest] = []
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public let port: Int
    private let box: StateBox
    private let serverChannel: any Channel
    private let acceptTask: Task<Void, Never>

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var requests: [RecordedRequest] { box.state.withLock { $0.requests } }

    private init(port: Int, box: StateBox, serverChannel: any Channel,
                 acceptTask: Task<Void, Never>) {
        self.port = port
        self.box = box
        self.serverChannel = serverChannel
        self.acceptTask = acceptTask
    }

    /// - Parameters:
    ///   - tls: serve HTTPS with this context (see `TestCertificates`).
    ///   - host: the loopback address to listen on (127.0.0.1 or ::1).
    public static func start(_ responses: [CannedResponse], tls: NIOSSLContext? = nil,
                             host: String = "127.0.0.1") async throws -> TestHTTPServer {
        let box = StateBox(queue: responses)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    box.track(channel)
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? 0
        let task = Task<Void, Never> {
            _ = try? await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { await serve(connection, box) }
                    }
                }
            }
        }
        return TestHTTPServer(port: port, box: box, serverChannel: server.channel,
                              acceptTask: task)
    }

    /// Stops accepting, closes every connection, and waits for the accept loop to drain.
    /// (Cancelling that loop instead would drop connections it had accepted but not yet
    /// handed out, which NIO treats as a programming error and traps on.)
    public func shutdown() async {
        try? await serverChannel.close()
        box.closeAll()
        await acceptTask.value
    }

    /// Runs `body` with a fresh server and always shuts it down.
    public static func with<T>(_ responses: [CannedResponse], tls: NIOSSLContext? = nil,
                               _ body: (TestHTTPServer) async throws -> T) async throws -> T {
        let server = try await start(responses, tls: tls)
        do {
            let result = try await body(server)
            await server.shutdown()
            return result
        } catch {
            await server.shutdown()
            throw error
        }
    }

    /// Shared by the accept task and the server object.
    private final class StateBox: Sendable {
        let state: Mutex<State>
        private let open = Mutex<[ObjectIdentifier: any Channel]>([:])
        init(queue: [CannedResponse]) { state = Mutex(State(queue: queue)) }

        func track(_ channel: any Channel) {
            let key = ObjectIdentifier(channel)
            open.withLock { $0[key] = channel }
            channel.closeFuture.whenComplete { [self] _ in _ = open.withLock { $0.removeValue(forKey: key) } }
        }

        func closeAll() {
            for channel in open.withLock({ Array($0.values) }) { channel.close(promise: nil) }
        }

        func record(_ request: RecordedRequest) -> CannedResponse {
            state.withLock { state in
                state.requests.append(request)
                guard !state.queue.isEmpty else {
                    return .json(#"{"error":{"message":"test server has no canned response"}}"#,
                                 status: 599)
                }
                return state.queue.removeFirst()
            }
        }
    }

    private static func serve(_ connection: Connection, _ box: StateBox) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let value):
                    head = value
                    body = []
                case .body(let buffer):
                    body += buffer.readableBytesView
                case .end:
                    guard let head else { continue }
                    let response = box.record(RecordedRequest(
                        method: head.method.rawValue, uri: head.uri,
                        headers: head.headers.map { ($0.name, $0.value) }, body: body))
                    if let delay = response.delayBeforeHead { try await Task.sleep(for: delay) }
                    var headers = HTTPHeaders(response.headers)
                    if response.dropConnection { headers.add(name: "connection", value: "close") }
                    try await outbound.write(.head(HTTPResponseHead(
                        version: .http1_1, status: HTTPResponseStatus(statusCode: response.status),
                        headers: headers)))
                    for chunk in response.chunks {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk))))
                        try await Task.sleep(for: response.pause)
                    }
                    if response.dropConnection { return }
                    try await outbound.write(.end(nil))
                }
            }
        }
    }
}
