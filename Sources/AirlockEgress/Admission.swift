import NIOCore

/// The policy decision for one target, made before any byte goes upstream.
enum Admission: Sendable {
    /// The addresses that passed the destination check, in resolver order.
    case allowed([EgressAddress])
    case denied(String)

    static let budgetExhausted = "egress budget exhausted"

    /// Allow-list, then resolution, then the destination check on every address.
    static func decide(_ target: EgressTarget, state: ProxyState, on eventLoop: any EventLoop) -> EventLoopFuture<Admission> {
        if state.meter.exhausted { return eventLoop.makeSucceededFuture(.denied(budgetExhausted)) }
        guard state.configuration.allow.contains(where: { $0.matches(target) }) else {
            let what = target.address == nil ? "host" : "IP literal"
            return eventLoop.makeSucceededFuture(.denied("\(what) not in the egress allow-list: \(target)"))
        }
        let allowPrivate = state.configuration.allowPrivate
        return state.resolver.resolve(target, on: eventLoop).map { outcome in
            switch outcome {
            case let .failed(why):
                return .denied("could not resolve \(target.hostString): \(why)")
            case let .resolved(resolution):
                // An override or an allow-listed literal is the user naming the address.
                if allowPrivate || resolution.source != .dns { return .allowed(resolution.addresses) }
                let usable = resolution.addresses.filter { $0.nonPublicReason == nil }
                guard usable.isEmpty else { return .allowed(usable) }
                let first = resolution.addresses.first
                let why = first.flatMap(\.nonPublicReason) ?? "non-public"
                return .denied("\(target.hostString) resolves to a \(why) address (\(first?.description ?? "?"))")
            }
        }
    }
}
