import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A collector for the bench: accepts OTLP/HTTP requests on loopback and answers 200 at
/// once, counting requests and bytes (the cost measured is the exporter's, not a backend's).
final class OTLPSink: Sendable {
    private let channel: any Channel
    private let counts: Counts
    let endpoint: String

    final class Counts: Sendable {
        let value = Mutex<(requests: Int, bytes: Int)>((0, 0))
    }

    var requests: Int { counts.value.withLock { $0.requests } }
    var bytes: Int { counts.value.withLock { $0.bytes } }

    private init(channel: any Channel, counts: Counts) {
        self.channel = channel
        self.counts = counts
        endpoint = "http://127.0.0.1:\(channel.localAddress?.port ?? 0)"
    }

    /// `hang`: read requests but never answer (a collector that is up but stuck).
    static func start(hang: Bool = false) async throws -> OTLPSink {
        let counts = Counts()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(counts: counts, hang: hang))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return OTLPSink(channel: channel, counts: counts)
    }

    func stop() { channel.close(promise: nil) }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let counts: Counts
        let hang: Bool

        init(counts: Counts, hang: Bool) {
            self.counts = counts
            self.hang = hang
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head:
                counts.value.withLock { $0.requests += 1 }
            case .body(let buffer):
                counts.value.withLock { $0.bytes += buffer.readableBytes }
            case .end:
                if hang { return }
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: "application/x-protobuf")
                headers.add(name: "content-length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                              promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
