#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Turns a target into addresses: IP literals as they are, names through the configured
/// overrides first, then getaddrinfo on NIO's thread pool (never on an event loop).
struct EgressResolver: Sendable {
    enum Source: Sendable { case literal, override, dns }

    struct Resolution: Sendable {
        var addresses: [EgressAddress]
        var source: Source
    }

    enum Outcome: Sendable {
        case resolved(Resolution)
        case failed(String)
    }

    let overrides: [String: [EgressAddress]]

    init(overrides raw: [String: [String]]) throws {
        var overrides: [String: [EgressAddress]] = [:]
        for (host, addresses) in raw {
            let key = EgressTarget.normalizedName(host) ?? host.lowercased()
            overrides[key] = try addresses.map { text in
                let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
                guard let address = EgressAddress(parsing: bare) else {
                    throw EgressError.invalidResolveOverride(host: host, address: text)
                }
                return address
            }
        }
        self.overrides = overrides
    }

    func resolve(_ target: EgressTarget, on eventLoop: any EventLoop) -> EventLoopFuture<Outcome> {
        switch target.host {
        case let .address(address):
            return eventLoop.makeSucceededFuture(.resolved(Resolution(addresses: [address], source: .literal)))
        case let .name(name):
            if let fixed = overrides[name] {
                return eventLoop.makeSucceededFuture(.resolved(Resolution(addresses: fixed, source: .override)))
            }
            return NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
                Self.lookup(name)
            }.flatMapErrorThrowing { error in .failed("\(error)") }
        }
    }

    private static func lookup(_ name: String) -> Outcome {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &result)
        guard status == 0 else {
            return .failed(String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(result) }
        var addresses: [EgressAddress] = []
        var cursor = result
        while let info = cursor {
            if let sockaddr = info.pointee.ai_addr {
                if info.pointee.ai_family == AF_INET {
                    sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        var address = pointer.pointee.sin_addr
                        addresses.append(EgressAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }))
                    }
                } else if info.pointee.ai_family == AF_INET6 {
                    sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        var address = pointer.pointee.sin6_addr
                        addresses.append(EgressAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }))
                    }
                }
            }
            cursor = info.pointee.ai_next
        }
        var seen = Set<EgressAddress>()
        let unique = addresses.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { return .failed("no addresses") }
        return .resolved(Resolution(addresses: unique, source: .dns))
    }
}
