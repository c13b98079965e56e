import NIOCore
import NIOHTTP1

/// Reads the first request on a sandbox connection and routes it: CONNECT is admitted here
/// and becomes a peeked tunnel; anything else goes to an `HTTPForwardHandler`.
final class ProxyFrontHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let connection: EgressConnection
    private var routed = false

    init(connection: EgressConnection) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !routed, case let .head(head) = unwrapInboundIn(data) else { return }
        routed = true
        if head.method == .CONNECT {
            connect(head, context: context)
        } else {
            forward(data, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Bytes the client sent after its CONNECT head, handed over as the decoder leaves
        // (as an error so they cannot be confused with the CONNECT's own `.end`).
        if case let ByteToMessageDecoderError.leftoverDataWhenDone(buffer) = error {
            context.fireChannelRead(NIOAny(buffer))
            return
        }
        // Malformed HTTP from the sandbox: answer if nothing was routed yet, then close.
        if !routed {
            context.channel.writeAndFlush(ProxyResponses.raw(.badRequest, "malformed proxy request",
                                                             allocator: context.channel.allocator), promise: nil)
        }
        context.close(promise: nil)
    }

    private func forward(_ head: NIOAny, context: ChannelHandlerContext) {
        do {
            let forwarder = HTTPForwardHandler(connection: connection, mode: .proxy)
            try context.pipeline.syncOperations.addHandlers([HTTPResponseEncoder(), forwarder], position: .after(self))
            context.fireChannelRead(head)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    private func connect(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard let target = EgressTarget(authority: head.uri, defaultPort: nil) else {
            connection.host = head.uri.isEmpty ? "?" : String(head.uri.prefix(255))
            connection.method = "CONNECT"
            refuse("CONNECT target must be HOST:PORT", context: context)
            return
        }
        connection.describe(target, method: "CONNECT", path: nil, scheme: "tunnel")
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        Admission.decide(target, state: connection.state, on: context.eventLoop).assumeIsolated().whenSuccess { admission in
            // Always on a later tick: the pipeline is rebuilt below, which must not happen
            // while the decoder is still delivering this CONNECT's parts.
            context.eventLoop.assumeIsolated().execute {
                self.admitted(admission, target: target, context: context)
            }
        }
    }

    private func admitted(_ admission: Admission, target: EgressTarget, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        switch admission {
        case let .denied(reason):
            refuse(reason, context: context)
        case let .allowed(addresses):
            connection.allow()
            do {
                let peek = FirstFlightHandler(connection: connection, target: target, addresses: addresses)
                let pipeline = context.pipeline.syncOperations
                try pipeline.addHandler(peek, position: .after(self))
                context.channel.writeAndFlush(ProxyResponses.connectEstablished.byteBuffer(context.channel.allocator),
                                              promise: nil)
                // Removing the decoder hands any bytes sent after the CONNECT head to the peek
                // (through `errorCaught` above).
                let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
                pipeline.removeHandler(decoder, promise: nil)
                pipeline.removeHandler(context: context, promise: nil)
                context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            } catch {
                connection.cut(reason: "internal error: \(error)")
            }
        }
    }

    private func refuse(_ reason: String, context: ChannelHandlerContext) {
        connection.deny(reason)
        let response = ProxyResponses.raw(.forbidden, reason, allocator: context.channel.allocator)
        context.channel.writeAndFlush(response).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

extension String {
    func byteBuffer(_ allocator: ByteBufferAllocator) -> ByteBuffer { allocator.buffer(string: self) }
}
