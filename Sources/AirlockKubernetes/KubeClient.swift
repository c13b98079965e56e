import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// REST to one apiserver over AsyncHTTPClient. Every call has a deadline; answers are capped.
public final class KubeClient: Sendable {
    public let config: KubeConfig
    let http: HTTPClient
    let tls: TLSConfiguration
    /// The longest a single REST call may take.
    public let requestTimeout: Duration
    /// Where REST calls go: the server, or with `tls-server-name` the server named by it (the
    /// connection still goes to the server's address; the name is what TLS sends and checks).
    let restBase: String

    public init(config: KubeConfig, requestTimeout: Duration = .seconds(15)) throws(KubeError) {
        self.config = config
        self.requestTimeout = requestTimeout
        tls = try Self.tlsConfiguration(config)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(Int64(requestTimeout.components.seconds) + 1))
        var base = config.server
        if let name = config.tlsServerName, var parts = URLComponents(string: config.server), let host = parts.host, host != name {
            // AsyncHTTPClient has no SNI setting of its own: the URL names the TLS name and
            // its DNS override sends the connection to the real host.
            configuration.dnsOverride = [name: host]
            parts.host = name
            base = parts.string ?? config.server
        }
        restBase = base
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Ends the connection pool; the client cannot be used after.
    public func shutdown() async {
        try? await http.shutdown()
    }

    static func tlsConfiguration(_ config: KubeConfig) throws(KubeError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = config.certificateAuthorityPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))
            }
            if let certificate = config.clientCertificatePEM, let key = config.clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
            }
        } catch {
            throw KubeError(status: 0, message: "the kubeconfig's TLS material for \(config.context) is unreadable: \(error)")
        }
        if config.insecureSkipTLSVerify { tls.certificateVerification = .none }
        return tls
    }

    func headers(json: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        if json { headers.add(name: "Content-Type", value: "application/json") }
        if let token = config.bearerToken() { headers.add(name: "Authorization", value: "Bearer \(token)") }
        return headers
    }

    /// One REST call; the body of a 2xx answer, else the apiserver's Status as a KubeError.
    @discardableResult
    public func call(_ method: HTTPMethod, _ path: String, body: Data? = nil,
                     timeout: Duration? = nil) async throws(KubeError) -> Data {
        var request = HTTPClientRequest(url: restBase + path)
        request.method = method
        request.headers = headers(json: body != nil)
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let limit = timeout ?? requestTimeout
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(limit / .milliseconds(1))))
            let collected = try await response.body.collect(upTo: 16 * 1024 * 1024)
            let data = Data(collected.readableBytesView)
            guard (200..<300).contains(Int(response.status.code)) else {
                throw Self.statusError(Int(response.status.code), data)
            }
            return data
        } catch let error as KubeError {
            throw error
        } catch {
            throw KubeError(status: 0, message: "cannot reach the apiserver \(config.server) (context \(config.context)): \(error)")
        }
    }

    /// A JSON object answer.
    public func object(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil) async throws(KubeError) -> [String: Any] {
        var encoded: Data?
        if let body { encoded = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) }
        let data = try await call(method, path, body: encoded)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw KubeError(status: 0, message: "the apiserver answered \(method) \(path) with something that is not a JSON object")
        }
        return object
    }

    static func statusError(_ code: Int, _ data: Data) -> KubeError {
        let status = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        let message = status?["message"] as? String ?? String(decoding: data.prefix(300), as: UTF8.self)
        return KubeError(status: code, reason: status?["reason"] as? String ?? "", message: message)
    }
}
