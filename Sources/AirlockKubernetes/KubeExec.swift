import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import WSClient

/// `pods/exec` over WebSocket. Both `v5.channel.k8s.io` and `v4.channel.k8s.io` are offered;
/// every message is one channel byte then data: 0 stdin, 1 stdout, 2 stderr, 3 the Status.
/// Only what both versions share is used (no v5 stdin half-close), so the exchange is the same
/// whichever the server picks (WSClient 1.6 does not report the chosen subprotocol).
public struct KubeExec: Sendable {
    public var pod: String
    public var namespace: String
    public var container: String
    public var command: [String]
    /// Largest WebSocket message accepted (WSClient's default of 16 KiB is far too small for
    /// guest frames, which may reach the protocol's frame cap).
    public var maxMessageBytes = 32 * 1024 * 1024
    /// Ping every period; no pong by the next ping closes the stream (the watchdog). Off for
    /// a one-shot exec, which its deadline bounds: a frame the client sends while the command
    /// ends can make the apiserver's and kubelet's stream proxies (v1.20, which drop both
    /// directions as soon as one fails) cut the Status off. The long-lived guest stream turns it on.
    public var pingPeriod: Duration?

    public init(pod: String, namespace: String, container: String = "main", command: [String]) {
        self.pod = pod
        self.namespace = namespace
        self.container = container
        self.command = command
    }

    func url(server: String) -> String {
        // Strict encoding: Go's query parser rejects `;` and reads `+` as a space.
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }
        var items = ["container=" + encode(container)]
        items += command.map { "command=" + encode($0) }
        items += ["stdin=true", "stdout=true", "stderr=true"]
        let query = items.joined(separator: "&")
        let base = server.hasPrefix("https://") ? "wss://" + server.dropFirst(8)
            : server.hasPrefix("http://") ? "ws://" + server.dropFirst(7) : server
        return "\(base)/api/v1/namespaces/\(namespace)/pods/\(pod)/exec?\(query)"
    }
}

extension KubeClient {
    /// Runs the exec until the stream ends: `input` chunks go to the command's stdin (when it
    /// finishes, the stream is closed), stdout and stderr chunks go to `output` with their
    /// channel number as they arrive. `timeout` bounds the whole exchange.
    /// `opened` is told when the upgrade succeeded: the kubelet found the container running.
    public func run(_ exec: KubeExec, input: AsyncStream<Data>? = nil, timeout: Duration, opened: ExecOpened? = nil,
                    output: @escaping @Sendable (UInt8, ByteBuffer) -> Void) async throws(KubeError) -> ExecExit {
        var headers = HTTPFields()
        if let token = config.bearerToken() { headers[.authorization] = "Bearer \(token)" }
        if let name = HTTPField.Name("Sec-WebSocket-Protocol") {
            headers[name] = "v5.channel.k8s.io, v4.channel.k8s.io"
        }
        var configuration = WebSocketClientConfiguration(maxFrameSize: exec.maxMessageBytes, additionalHeaders: headers,
                                                         closeTimeout: .seconds(5), autoPing: exec.pingPeriod.map { .enabled(timePeriod: $0) } ?? .disabled)
        configuration.sniHostname = config.tlsServerName ?? Self.serverNameForIP(config.server)
        let status = StatusBox()
        let maxBytes = exec.maxMessageBytes
        // The Status is the last thing that matters (output comes before it): the exec has its
        // outcome then, without waiting for the close handshake, which a server may hold up
        // (1 exec in 30 here waited out WSClient's 5 s close timeout after its Status).
        let settled = SettleBox()
        let client = UnsafeTransfer(WebSocketClient(url: exec.url(server: config.server), configuration: configuration, tlsConfiguration: tls,
                                     logger: Logger(label: "airlock.kubernetes.exec")) { inbound, outbound, _ in
            opened?.open()
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let input {
                    group.addTask {
                        for await chunk in input {
                            var buffer = ByteBuffer()
                            buffer.writeInteger(UInt8(0))
                            buffer.writeBytes(chunk)
                            try await outbound.write(.binary(buffer))
                        }
                        try await outbound.close(.normalClosure, reason: "stdin closed")
                    }
                }
                var messages = inbound.messages(maxSize: maxBytes).makeAsyncIterator()
                while let message = try await messages.next() {
                    var buffer: ByteBuffer
                    switch message {
                    case .binary(let data): buffer = data
                    case .text(let text): buffer = ByteBuffer(string: text)
                    }
                    guard let channel: UInt8 = buffer.readInteger() else { continue }
                    switch channel {
                    case 1, 2: output(channel, buffer)
                    case 3:
                        status.set(ExecExit.parse(Data(buffer.readableBytesView)))
                        settled.settle()
                    default: continue
                    }
                }
                group.cancelAll()
            }
        })
        let outcome = await Race.run(timeout: timeout, timedOut: KubeError(status: 0, reason: "Timeout",
                                                                          message: "the exec in pod \(exec.pod) ran past \(timeout)")) { settle in
            settled.onSettle(settle)
            _ = try await client.value.run()
        }
        if case .failure(let error) = outcome {
            if let error = error as? KubeError { throw error }
            if status.value == nil {
                throw KubeError(status: 0, reason: "ExecFailed",
                                message: "exec in pod \(exec.pod) failed: \(error) (check the pod exists and pods/exec is allowed)")
            }
        }
        return status.value ?? .unknown("the stream ended without a Status on channel 3")
    }
}

extension KubeClient {
    /// WSClient sends the URL's host as SNI, which TLS forbids for an IP address: for an IP
    /// server without tls-server-name, the name its certificate carries on every cluster
    /// (`localhost` on loopback, else the `kubernetes` service name).
    static func serverNameForIP(_ server: String) -> String? {
        guard let host = URLComponents(string: server)?.host else { return nil }
        let isIP = host.contains(":") || host.split(separator: ".").allSatisfy { Int($0) != nil }
        guard isIP else { return nil }
        return host.hasPrefix("127.") || host == "::1" ? "localhost" : "kubernetes"
    }
}

/// Whether an exec got past its upgrade, and what to do the moment it does (once).
public final class ExecOpened: Sendable {
    private let state: Mutex<(happened: Bool, action: (@Sendable () -> Void)?)>

    public init(_ action: (@Sendable () -> Void)? = nil) { state = Mutex((false, action)) }

    func open() {
        let action = state.withLock { state in
            defer { state.action = nil }
            state.happened = true
            return state.action
        }
        action?()
    }

    public var happened: Bool { state.withLock { $0.happened } }
}

/// The Status seen on channel 3, set from the handler and read after it.
final class StatusBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: ExecExit?
    var value: ExecExit? { lock.withLock { stored } }
    func set(_ exit: ExecExit) { lock.withLock { stored = exit } }
}

/// Ends an exec's race once its Status is in, whichever comes first: the Status or the hook.
final class SettleBox: @unchecked Sendable {
    private let lock = NSLock()
    private var settled = false
    private var hook: (@Sendable () -> Void)?

    func onSettle(_ action: @escaping @Sendable () -> Void) {
        let now = lock.withLock {
            hook = action
            return settled
        }
        if now { action() }
    }

    func settle() {
        let action = lock.withLock {
            settled = true
            return hook
        }
        action?()
    }
}

/// WSClient's client is a value of immutable settings that is not marked Sendable; it is
/// moved into the one task that runs it.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
