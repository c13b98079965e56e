import Foundation

/// One allow-list entry, `HOST[:PORT]`.
///
/// - `example.com`: exactly that name (case-insensitive, a trailing dot ignored).
/// - `*.example.com`: any name below example.com, not example.com itself.
/// - `192.0.2.7`, `[2001:db8::1]`: exactly that address (IPv6 in brackets).
/// - No port means ports 80 and 443 only; `:PORT` means that port only.
public struct EgressRule: Sendable, Hashable, CustomStringConvertible {
    enum Host: Sendable, Hashable {
        case name(String)
        /// The suffix below which names match, without the leading `*.`.
        case wildcard(String)
        case address(EgressAddress)
    }

    let host: Host
    /// nil: the web's default ports, 80 and 443.
    public let port: Int?

    public static let defaultPorts: Set<Int> = [80, 443]

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func fail(_ reason: String) -> EgressError { .invalidRule(text, reason: reason) }
        guard !trimmed.isEmpty else { throw fail("empty") }
        guard !trimmed.contains("://"), !trimmed.contains("/") else {
            throw fail("give HOST[:PORT], not a URL")
        }
        guard !trimmed.contains("@") else { throw fail("user info is not allowed") }
        guard let (hostText, port) = EgressTarget.split(trimmed) else {
            if !trimmed.hasPrefix("["), trimmed.filter({ $0 == ":" }).count > 1 {
                throw fail("IPv6 addresses need brackets, e.g. [::1]:443")
            }
            throw fail("the port must be a number from 1 to 65535")
        }
        if hostText.hasPrefix("*.") {
            let suffix = String(hostText.dropFirst(2))
            guard !suffix.contains("*"), let name = EgressTarget.normalizedName(suffix) else {
                throw fail("a wildcard is `*.` followed by a DNS name")
            }
            host = .wildcard(name)
        } else if hostText.contains("*") {
            throw fail("`*` is only allowed as a whole leading label, as in *.example.com")
        } else if let parsed = EgressTarget.parseHost(hostText) {
            switch parsed {
            case let .name(name):
                if name.split(separator: ".").allSatisfy({ $0.allSatisfy(\.isNumber) }) {
                    throw fail("not a valid IPv4 address")
                }
                host = .name(name)
            case let .address(address): host = .address(address)
            }
        } else if hostText.hasPrefix("[") {
            throw fail("not a valid IPv6 address")
        } else {
            throw fail("not a valid host name or IP address")
        }
        self.port = port
    }

    /// Whether a request to `host:port` is covered. `host` may be a name, an IPv4 address
    /// or an IPv6 address with or without brackets.
    public func matches(host: String, port: Int) -> Bool {
        guard let target = EgressTarget.parseHost(Self.bracketed(host)) else { return false }
        return matches(EgressTarget(host: target, port: port))
    }

    func matches(_ target: EgressTarget) -> Bool {
        guard port.map({ $0 == target.port }) ?? Self.defaultPorts.contains(target.port) else { return false }
        switch (host, target.host) {
        case let (.name(rule), .name(name)): return rule == name
        case let (.wildcard(suffix), .name(name)): return name.hasSuffix("." + suffix)
        case let (.address(rule), .address(address)): return rule == address
        default: return false
        }
    }

    /// Whether every destination this entry matches is matched by one of `rules` too: a
    /// secret's hosts must lie inside the allow-list.
    public func isCovered(by rules: [EgressRule]) -> Bool {
        let ports = port.map { [$0] } ?? Self.defaultPorts.sorted()
        return ports.allSatisfy { port in rules.contains { $0.covers(host, port: port) } }
    }

    private func covers(_ other: Host, port: Int) -> Bool {
        guard self.port.map({ $0 == port }) ?? Self.defaultPorts.contains(port) else { return false }
        switch (host, other) {
        case let (.name(rule), .name(name)): return rule == name
        case let (.wildcard(suffix), .name(name)): return name.hasSuffix("." + suffix)
        case let (.wildcard(suffix), .wildcard(inner)): return inner == suffix || inner.hasSuffix("." + suffix)
        case let (.address(rule), .address(address)): return rule == address
        default: return false
        }
    }

    /// Whether the rule names exactly this IP address (which lets a literal through).
    func isLiteral(_ address: EgressAddress) -> Bool {
        if case let .address(rule) = host { return rule == address }
        return false
    }

    public var description: String {
        let hostText = switch host {
        case let .name(name): name
        case let .wildcard(suffix): "*." + suffix
        case let .address(address): address.authorityHost
        }
        return port.map { "\(hostText):\($0)" } ?? hostText
    }

    private static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}
