import Foundation
import PostgresNIO

/// A `postgres://` URL as libpq reads it: user, password, host, port, database, and the
/// `sslmode` (disable, allow, prefer, require, verify-ca, verify-full; default prefer) and
/// `sslrootcert` parameters. `host=/dir` in the query names a Unix socket directory.
public struct PostgresURL: Sendable, Hashable {
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var socketDirectory: String?
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    public var sslRootCert: String?

    /// Parses `text`; the error names what is wrong and the form expected.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let form = "expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]"
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw StoreErrorText("not a PostgreSQL URL: \(Self.redacted(text)) (\(form))")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        port = components.port ?? 5432
        socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        user = components.user.flatMap { $0.isEmpty ? nil : $0 } ?? query["user"]
            ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        password = components.password ?? query["password"] ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? (query["dbname"] ?? user) : path
        // As libpq: the URL's parameters first, then PGSSLMODE and PGSSLROOTCERT.
        let mode = query["sslmode"] ?? environment["PGSSLMODE"] ?? "prefer"
        guard var sslMode = SSLMode(rawValue: mode) else {
            throw StoreErrorText("sslmode=\(mode) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        sslRootCert = query["sslrootcert"] ?? environment["PGSSLROOTCERT"]
        // libpq checks the chain under `require` too when a root certificate is given.
        if sslMode == .require, sslRootCert != nil { sslMode = .verifyCA }
        self.sslMode = sslMode
        if [.verifyCA, .verifyFull].contains(sslMode) {
            guard let sslRootCert else {
                throw StoreErrorText("sslmode=\(mode) needs sslrootcert=FILE (the CA that signed the server's certificate)")
            }
            guard FileManager.default.isReadableFile(atPath: sslRootCert) else {
                throw StoreErrorText("sslrootcert=\(sslRootCert) cannot be read; name the PEM file of the CA that signed the server's certificate")
            }
        }
    }

    /// The URL without its password, for messages.
    public var display: String {
        "postgres://\(user)@\(host):\(port)/\(database)" + (sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)")
    }

    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? text
    }

    /// libpq's meaning of each mode: `prefer`/`require` encrypt without checking the
    /// certificate; `verify-ca` checks the chain; `verify-full` the host name too. Nil: no TLS.
    func tlsSettings() throws -> (config: TLSConfiguration, required: Bool)? {
        var config = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable:
            return nil
        case .allow, .prefer, .require:
            config.certificateVerification = .none
            return (config, sslMode == .require)
        case .verifyCA, .verifyFull:
            guard let sslRootCert else { return nil }
            let roots: [NIOSSLCertificate]
            do { roots = try NIOSSLCertificate.fromPEMFile(sslRootCert) } catch {
                throw StoreErrorText("sslrootcert=\(sslRootCert) holds no PEM certificate (\(error))")
            }
            guard !roots.isEmpty else { throw StoreErrorText("sslrootcert=\(sslRootCert) holds no PEM certificate") }
            config.trustRoots = .certificates(roots)
            config.certificateVerification = sslMode == .verifyCA ? .noHostnameVerification : .fullVerification
            return (config, true)
        }
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user,
                                  password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS = try tlsSettings().map { $0.required ? .require($0.config) : .prefer($0.config) } ?? .disable
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        if let socketDirectory {
            return .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user,
                         password: password, database: database)
        }
        var tls = PostgresConnection.Configuration.TLS.disable
        if let settings = try tlsSettings() {
            let context = try NIOSSLContext(configuration: settings.config)
            tls = settings.required ? .require(context) : .prefer(context)
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user,
                                                             password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

/// A configuration mistake, said plainly.
struct StoreErrorText: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
