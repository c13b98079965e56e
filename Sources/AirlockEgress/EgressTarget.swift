/// A destination named by a request: a host (lower-cased name without trailing dot, or an
/// IP address) and a port. Parsed from CONNECT targets, absolute URIs and Host headers.
struct EgressTarget: Sendable, Hashable, CustomStringConvertible {
    enum Host: Sendable, Hashable {
        case name(String)
        case address(EgressAddress)
    }

    let host: Host
    let port: Int

    /// The host as it is compared and written into SNI: a name, or the bare address.
    var hostString: String {
        switch host {
        case let .name(name): name
        case let .address(address): address.description
        }
    }

    var authorityHost: String {
        switch host {
        case let .name(name): name
        case let .address(address): address.authorityHost
        }
    }

    var description: String { "\(authorityHost):\(port)" }

    var address: EgressAddress? {
        if case let .address(address) = host { return address }
        return nil
    }

    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`; nil for anything else (userinfo,
    /// zone ids, empty or non-numeric ports, characters that cannot be in a DNS name).
    init?(authority: String, defaultPort: Int?) {
        guard let (hostText, port) = Self.split(authority), let host = Self.parseHost(hostText) else {
            return nil
        }
        guard let port = port ?? defaultPort else { return nil }
        self.host = host
        self.port = port
    }

    init(host: Host, port: Int) {
        self.host = host
        self.port = port
    }

    /// Splits an authority into host text (brackets kept) and an optional port.
    /// Returns nil when the port is present but not 1...65535.
    static func split(_ authority: String) -> (host: String, port: Int?)? {
        var hostPart = Substring(authority)
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[...close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return nil }
                portPart = rest.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            // More than one colon without brackets is an unbracketed IPv6 literal.
            guard authority.firstIndex(of: ":") == colon else { return nil }
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        guard let portText = portPart else { return (String(hostPart), nil) }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (String(hostPart), port)
    }

    /// A bracketed IPv6 literal, a dotted-quad IPv4 literal, or a DNS name
    /// (lower-cased, one trailing dot dropped).
    static func parseHost(_ text: String) -> Host? {
        if text.hasPrefix("[") {
            guard text.hasSuffix("]"), text.count > 2 else { return nil }
            guard let address = EgressAddress(parsing: String(text.dropFirst().dropLast())),
                  !address.isIPv4 else { return nil }
            return .address(address)
        }
        if let address = EgressAddress(parsing: text), address.isIPv4 { return .address(address) }
        guard let name = normalizedName(text) else { return nil }
        return .name(name)
    }

    /// Lower-cases and drops one trailing dot; nil unless every label is 1–63 characters
    /// of letters, digits, `-` or `_` and the whole is at most 253 characters.
    static func normalizedName(_ text: String) -> String? {
        var name = text.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return nil }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.utf8.count),
                  label.utf8.allSatisfy({ isNameByte($0) }) else { return nil }
        }
        return name
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2d || byte == 0x5f
    }
}
