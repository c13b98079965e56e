import Foundation
import NIOHTTP1

/// A request head that passed the proxy's shape checks, with its target and origin-form path.
struct ForwardRequest {
    enum Check {
        case accepted(ForwardRequest)
        /// Refused before admission; `target` when one could be read.
        case refused(String, EgressTarget?)
    }

    let head: HTTPRequestHead
    let target: EgressTarget
    let path: String

    /// Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus `Expect`
    /// (1xx relaying is not supported) and everything `Proxy-*`.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect",
    ]

    static func check(_ head: HTTPRequestHead, mode: HTTPForwardHandler.Mode) -> Check {
        let uri = head.uri
        let lower = uri.lowercased()
        let target: EgressTarget
        var path = uri
        let tls: Bool
        switch mode {
        case .proxy:
            tls = false
            if uri.hasPrefix("/") {
                return .refused("not a proxy request: origin-form target \(uri.prefix(64)); send an absolute http:// URI or CONNECT", nil)
            }
            guard lower.hasPrefix("http://") else {
                return .refused(lower.contains("://") ? "only http:// URIs are forwarded; use CONNECT for other schemes"
                                                       : "unsupported request target", nil)
            }
            guard let (parsed, rest) = splitAbsolute(uri, schemeLength: 7) else {
                return .refused("invalid host in request URI", nil)
            }
            target = parsed
            path = rest
        case let .tunnel(tunnelTarget, _, isTLS):
            tls = isTLS
            target = tunnelTarget
            if head.method == .CONNECT {
                return .refused("CONNECT inside a CONNECT tunnel (a relayed CONNECT) is refused", target)
            }
            let schemeLength = lower.hasPrefix("http://") ? 7 : lower.hasPrefix("https://") ? 8 : 0
            if schemeLength > 0 {
                guard let (parsed, rest) = splitAbsolute(uri, schemeLength: schemeLength, defaultPort: tunnelTarget.port),
                      parsed == tunnelTarget else {
                    return .refused("request URI authority differs from CONNECT target \(tunnelTarget)", target)
                }
                path = rest
            } else if !(uri.hasPrefix("/") || (uri == "*" && head.method == .OPTIONS)) {
                return .refused("unsupported request target", target)
            }
        }
        let hosts = head.headers["Host"]
        guard hosts.count <= 1 else { return .refused("more than one Host header", target) }
        if let host = hosts.first {
            let defaultPort = tls ? 443 : 80
            guard let named = EgressTarget(authority: host.trimmingSpaces, defaultPort: defaultPort), named == target else {
                return .refused("Host header \(host.prefix(255)) differs from the request target \(target)", target)
            }
        }
        return .accepted(ForwardRequest(head: head, target: target, path: path))
    }

    /// `scheme://authority/rest` → the authority as a target, and `/rest` (at least `/`).
    private static func splitAbsolute(_ uri: String, schemeLength: Int, defaultPort: Int = 80) -> (EgressTarget, String)? {
        let afterScheme = uri.dropFirst(schemeLength)
        let end = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let authority = String(afterScheme[..<end])
        guard !authority.contains("@"), let target = EgressTarget(authority: authority, defaultPort: defaultPort) else {
            return nil
        }
        var rest = String(afterScheme[end...])
        if let hash = rest.firstIndex(of: "#") { rest = String(rest[..<hash]) }
        if !rest.hasPrefix("/") { rest = "/" + rest }
        return (target, rest)
    }

    /// The head sent upstream: origin-form, hop-by-hop and Proxy-* headers removed, Host
    /// set, `Connection: close`, and placeholders of `secrets` replaced in the request line
    /// and header values. Returns the names of the secrets actually substituted.
    func upstreamHead(substituting secrets: [EgressSecret]) -> (HTTPRequestHead, [String]) {
        var headers = Self.strippingHopByHop(head.headers)
        if !headers.contains(name: "Host") {
            let defaultPort = target.port == 80 || target.port == 443
            headers.add(name: "Host", value: defaultPort ? target.authorityHost : target.description)
        }
        headers.add(name: "Connection", value: "close")
        var uri = path
        var used: [String] = []
        for secret in secrets {
            var hit = false
            if uri.contains(secret.placeholder) {
                uri = uri.replacingAll(secret.placeholder, with: secret.value)
                hit = true
            }
            var replaced = HTTPHeaders()
            for (name, value) in headers {
                if value.contains(secret.placeholder) {
                    replaced.add(name: name, value: value.replacingAll(secret.placeholder, with: secret.value))
                    hit = true
                } else {
                    replaced.add(name: name, value: value)
                }
            }
            headers = replaced
            if hit { used.append(secret.name) }
        }
        return (HTTPRequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers), used)
    }

    static func strippingHopByHop(_ headers: HTTPHeaders) -> HTTPHeaders {
        let named = Set(headers[canonicalForm: "Connection"].map { $0.lowercased() })
        var result = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || named.contains(lower) || lower.hasPrefix("proxy-") { continue }
            result.add(name: name, value: value)
        }
        return result
    }
}

extension String {
    var trimmingSpaces: String {
        trimmingCharacters(in: .whitespaces)
    }

    func replacingAll(_ needle: String, with replacement: String) -> String {
        guard !needle.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: needle) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
