import NIOCore
import NIOHTTP1

/// The upstream end of an HTTP forward: hands response parts back to the sandbox side.
/// Lives on the same event loop as its `HTTPForwardHandler`.
final class UpstreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let forwarder: HTTPForwardHandler
    private var error: (any Error)?

    init(forwarder: HTTPForwardHandler) { self.forwarder = forwarder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        forwarder.relayResponse(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        forwarder.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        forwarder.upstreamWritable(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        forwarder.upstreamClosed(error: error)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.error = error
        context.close(promise: nil)
    }
}
