import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A sandbox-side client speaking raw bytes to the proxy: what it sends is exactly what the
/// test wrote, and it reads until the proxy closes.
final class TestClient: Sendable {
    enum Endpoint {
        case tcp(Int)
        case unix(String)
    }

    private let channel: any Channel
    private let received: Received

    init(_ endpoint: Endpoint) async throws {
        let received = Received()
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Collector(received: received))
            }
        }
        switch endpoint {
        case let .tcp(port): channel = try await bootstrap.connect(host: "127.0.0.1", port: port).get()
        case let .unix(path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
        }
        self.received = received
    }

    /// Whether the proxy has closed the connection within `limit` (polled; false if still open).
    func closedByPeer(within limit: Duration) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if !channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !channel.isActive
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(string: text))
    }

    /// Everything received until the proxy closes (or `timeout`).
    func readAll(timeout: TimeAmount = .seconds(5)) async throws -> String {
        let channel = channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        timer.cancel()
        return String(decoding: received.bytes.withLock { $0 }, as: UTF8.self)
    }

    /// Waits for the end of the proxy's CONNECT answer, returns it and forgets it.
    func readHead() async throws -> String {
        for _ in 0..<500 {
            let head: String? = received.bytes.withLock { bytes in
                guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
                defer { bytes.removeSubrange(..<end.upperBound) }
                return String(decoding: bytes[..<end.upperBound], as: UTF8.self)
            }
            if let head { return head }
            if !channel.isActive { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        return ""
    }

    /// Starts TLS inside the tunnel, trusting `trustPEM`, sending `serverName` as SNI.
    func startTLS(serverName: String?, trustPEM: String) async throws {
        let channel = channel
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(trustPEM.utf8)))
        if serverName == nil { configuration.certificateVerification = .noHostnameVerification }
        let context = try NIOSSLContext(configuration: configuration)
        received.bytes.withLock { $0 = [] }
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                try NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
        }.get()
    }
}

final class Received: Sendable {
    let bytes = Mutex<[UInt8]>([])
}

/// Appends what arrives to a buffer the test can read after the channel is gone.
final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let received: Received

    init(received: Received) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        received.bytes.withLock { $0 += buffer.readableBytesView }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
