import NIOCore

/// First in every sandbox connection: counts raw bytes each way for the record and charges
/// them to the budget. Once the budget is gone, traffic on admitted connections stops here.
final class ByteCountingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: EgressConnection

    init(connection: EgressConnection) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        connection.bytesUp += count
        guard charge(count) else { return }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let count = unwrapOutboundIn(data).readableBytes
        connection.bytesDown += count
        guard charge(count) else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(data, promise: promise)
    }

    /// False when the bytes must not pass: the budget ran out while this connection carried
    /// traffic. Refusals still get their short answer out.
    private func charge(_ count: Int) -> Bool {
        let outcome = connection.state.meter.charge(count)
        if case .crossedNow = outcome {
            _ = connection.state.cutAll(reason: Admission.budgetExhausted)
        }
        guard outcome == .within || !connection.admitted else {
            connection.cut(reason: Admission.budgetExhausted)
            return false
        }
        return true
    }
}
