import Foundation
import HTTPTypes
import Hummingbird

/// Every request passes here first: the Host check (no token) or the token check (token),
/// the cross-site check on anything that changes state, and the headers that keep a page
/// holding hostile model output inert.
struct ServeGuard: RouterMiddleware {
    typealias Context = ServeContext
    let configuration: ServeConfiguration

    static let csrfHeader = HTTPField.Name("X-Airlock-CSRF")
    static let fetchSiteHeader = HTTPField.Name("Sec-Fetch-Site")

    /// Cookies are per host, not per port: the port in the name keeps two servers' apart.
    static func cookieName(authority: String) -> String {
        let port = authority.split(separator: ":").last.flatMap { Int($0) }
        return "airlock_token_" + (port.map(String.init) ?? "default")
    }

    func handle(_ request: Request, context: ServeContext,
                next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        var context = context
        var response: Response
        if let refusal = try check(request, &context) {
            response = refusal
        } else {
            response = try await next(request, context)
        }
        for (name, value) in Self.securityHeaders {
            if let name = HTTPField.Name(name) { response.headers[name] = value }
        }
        return response
    }

    /// A refusal, or nil to go on.
    private func check(_ request: Request, _ context: inout ServeContext) throws -> Response? {
        // HTTP/1's Host header arrives as the request's authority.
        let authority = request.head.authority ?? ""
        if let token = configuration.token {
            if let refusal = try authenticate(request, token: token, cookieName: Self.cookieName(authority: authority), &context) {
                return refusal
            }
        } else if !ServeConfiguration.isLoopback(Self.hostName(authority)) {
            // Without a token the server trusts only loopback; a foreign Host means a
            // browser was pointed here by another site's DNS (rebinding).
            return ServeResponses.error(.misdirectedRequest, "this server answers only to a loopback Host", request)
        }
        guard request.method != .get, request.method != .head else { return nil }
        return crossSiteRefusal(request, authority: authority, bearer: context.bearerAuthenticated)
    }

    private func authenticate(_ request: Request, token: String, cookieName: String,
                              _ context: inout ServeContext) throws -> Response? {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            guard Self.same(String(header.dropFirst(7)), token) else {
                return ServeResponses.error(.unauthorized, "wrong token", request)
            }
            context.bearerAuthenticated = true
            return nil
        }
        if let cookie = request.cookies[cookieName]?.value, Self.same(cookie, token) { return nil }
        // `?token=T` once: set the cookie and send the browser to the same page without the
        // token in its address bar and history.
        if request.method == .get, let given = request.uri.queryParameters["token"], Self.same(String(given), token) {
            var response = ServeResponses.redirect(to: request.uri.path)
            let cookie = Cookie(name: cookieName, value: token, path: "/", httpOnly: true, sameSite: .strict)
            response.headers[.setCookie] = cookie.description
            return response
        }
        return ServeResponses.error(.unauthorized,
                                    "this server needs its token: open it once as /?token=TOKEN, or send Authorization: Bearer TOKEN",
                                    request)
    }

    /// POSTs must come from this server's own page (or a script with the bearer token):
    /// browsers say where a request comes from (`Sec-Fetch-Site`, `Origin`), and a page of
    /// another site cannot read the CSRF token out of ours nor set a custom header here.
    private func crossSiteRefusal(_ request: Request, authority: String, bearer: Bool) -> Response? {
        if let name = Self.fetchSiteHeader, let site = request.headers[name], site != "same-origin", site != "none" {
            return ServeResponses.error(.forbidden, "cross-site request refused (Sec-Fetch-Site: \(site))", request)
        }
        if let origin = request.headers[.origin] {
            // An Origin is `scheme://host[:port]`; ours is the Host the browser sent.
            let originAuthority = origin.range(of: "://").map { String(origin[$0.upperBound...]) } ?? ""
            guard !authority.isEmpty, originAuthority.lowercased() == authority.lowercased() else {
                return ServeResponses.error(.forbidden, "cross-origin request refused (Origin: \(origin))", request)
            }
        }
        if bearer { return nil }
        guard let name = Self.csrfHeader, let given = request.headers[name], Self.same(given, configuration.csrfToken) else {
            return ServeResponses.error(.forbidden, "missing or wrong X-Airlock-CSRF header (GET /api/session gives it)", request)
        }
        return nil
    }

    /// `host:port`, `[v6]:port` or `host` → the host alone.
    static func hostName(_ authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
    }

    /// Compares without an early exit, so timing says nothing about the token.
    static func same(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<b.count { difference |= (index < a.count ? a[index] : 0) ^ b[index] }
        return difference == 0
    }

    /// No script but our own file, no framing, no sniffing, no referrer, no caching.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
            + "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]
}
