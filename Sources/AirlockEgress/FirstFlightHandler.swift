import NIOCore
import NIOHTTP1
import NIOSSL

/// Holds the first bytes a client sends into an admitted CONNECT tunnel and decides what
/// the tunnel may carry: TLS whose SNI names the CONNECT host (terminated when a secret
/// applies), HTTP that is re-parsed request by request, or other bytes, tunnelled as-is.
final class FirstFlightHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: EgressConnection
    private let target: EgressTarget
    private let addresses: [EgressAddress]
    private var buffered: [ByteBuffer] = []
    private var bytes: [UInt8] = []
    private var decided = false

    init(connection: EgressConnection, target: EgressTarget, addresses: [EgressAddress]) {
        self.connection = connection
        self.target = target
        self.addresses = addresses
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffered.append(buffer)
        guard !decided else { return }
        bytes += buffer.readableBytesView
        let flight = FirstFlight.classify(bytes)
        if flight == .needMore {
            if bytes.count > FirstFlight.maxPeek { refuse("first bytes in the tunnel too large to inspect", context) }
            return
        }
        decided = true
        decide(flight, context: context)
    }

    private func decide(_ flight: FirstFlight, context: ChannelHandlerContext) {
        let secrets = connection.state.secrets(for: target)
        switch flight {
        case .needMore:
            return
        case .malformedTLS:
            refuse("malformed TLS ClientHello in the tunnel", context)
        case let .tlsClientHello(serverName):
            if let mismatch = sniMismatch(serverName) {
                refuse(mismatch, context)
            } else if secrets.isEmpty {
                tunnel(context)
            } else if case let .name(name) = target.host, let authority = connection.state.authority {
                do {
                    let tls = try authority.serverContext(for: name)
                    connection.scheme = "https-intercepted"
                    install([NIOSSLServerHandler(context: tls), HTTPResponseEncoder(),
                             ByteToMessageHandler(HTTPRequestDecoder()),
                             HTTPForwardHandler(connection: connection, mode: .tunnel(target, addresses, tls: true))],
                            context)
                } catch {
                    refuse("could not issue a certificate for \(name): \(error)", context)
                }
            } else {
                refuse("secrets over TLS need a host name, not an IP address", context)
            }
        case .http:
            connection.scheme = "http"
            install([HTTPResponseEncoder(), ByteToMessageHandler(HTTPRequestDecoder()),
                     HTTPForwardHandler(connection: connection, mode: .tunnel(target, addresses, tls: false))],
                    context)
        case .opaque:
            tunnel(context)
        }
    }

    /// A named target needs SNI equal to its name; an address target may omit SNI.
    private func sniMismatch(_ serverName: String?) -> String? {
        guard let serverName else {
            return target.address == nil ? "TLS ClientHello without SNI for CONNECT \(target)" : nil
        }
        let normalized = EgressTarget.normalizedName(serverName) ?? serverName
        return normalized == target.hostString ? nil
            : "TLS SNI \(serverName) differs from CONNECT target \(target.hostString)"
    }

    /// Puts `handlers` after this one, replays what was held, and steps out.
    private func install(_ handlers: [any ChannelHandler], _ context: ChannelHandlerContext) {
        do {
            try context.pipeline.syncOperations.addHandlers(handlers, position: .after(self))
            let held = buffered
            buffered = []
            for buffer in held { context.fireChannelRead(wrapInboundOut(buffer)) }
            context.fireChannelReadComplete()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            connection.cut(reason: "internal error: \(error)")
        }
    }

    private func tunnel(_ context: ChannelHandlerContext) {
        connection.scheme = "tunnel"
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let (local, remote) = GlueHandler.pair()
        let remoteBound = NIOLoopBound(remote, eventLoop: context.eventLoop)
        Upstream.connect(addresses: addresses, port: target.port, on: context.eventLoop) { channel in
            try channel.pipeline.syncOperations.addHandler(remoteBound.value)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case let .failure(error):
                self.connection.reason = "upstream connect failed: \(error)"
                context.close(promise: nil)
            case let .success(upstream):
                self.connection.upstream = upstream
                guard context.channel.isActive else {
                    upstream.close(promise: nil)
                    return
                }
                do {
                    try context.pipeline.syncOperations.addHandler(local, position: .after(self))
                    remote.write(buffered: self.buffered)
                    self.buffered = []
                    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                    context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                } catch {
                    self.connection.cut(reason: "internal error: \(error)")
                }
            }
        }
    }

    private func refuse(_ reason: String, _ context: ChannelHandlerContext) {
        decided = true
        connection.deny(reason)
        context.close(promise: nil)
    }
}
