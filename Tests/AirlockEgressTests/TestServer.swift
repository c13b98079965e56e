import Crypto
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import X509
@testable import AirlockEgress

/// A loopback HTTP(S) server for the tests. `GET /big?n=N` answers N bytes; anything else
/// answers with what it received: the request line, the headers, and the body's length.
final class TestServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(host: String = "127.0.0.1", tls: NIOSSLContext? = nil) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(EchoHandler())
                }
            }
            .bind(host: host, port: 0).get()
    }

    func stop() async { try? await channel.close() }
}

private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var bodyBytes = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            self.head = head
            bodyBytes = 0
        case let .body(buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            guard let head else { return }
            var body: ByteBuffer
            if head.uri.hasPrefix("/big?n="), let count = Int(head.uri.dropFirst(7)) {
                body = context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: count)
            } else {
                var text = "\(head.method.rawValue) \(head.uri)\n"
                for (name, value) in head.headers { text += "\(name.lowercased()): \(value)\n" }
                text += "body-bytes: \(bodyBytes)\n"
                body = context.channel.allocator.buffer(string: text)
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "\(body.readableBytes)")
            headers.add(name: "Keep-Alive", value: "timeout=5")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                          promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            // One answer per connection, so clients reading to the end are not left waiting.
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}

/// A CA made by the test (not the proxy's), and TLS contexts for servers it vouches for.
struct TestAuthority {
    let authority: CertificateAuthority
    var pem: String { authority.certificatePEM }

    init() throws { authority = try CertificateAuthority(commonName: "Airlock test CA") }

    func serverContext(names: [String]) throws -> NIOSSLContext {
        let key = P256.Signing.PrivateKey()
        let leaf = try authority.issueLeaf(dnsNames: names, key: key.publicKey)
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try CertificateAuthority.nio(leaf))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)))
        return try NIOSSLContext(configuration: configuration)
    }
}
