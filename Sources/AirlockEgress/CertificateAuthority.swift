import Crypto
import Foundation
import Synchronization
import NIOSSL
import X509

/// The per-run authority the sandbox trusts so the proxy can read requests to secret hosts.
/// Its key lives only in this process; leaves are issued per host on first use and cached.
final class CertificateAuthority: Sendable {
    let certificate: Certificate
    let certificatePEM: String
    private let signingKey: Certificate.PrivateKey
    /// One key for every leaf: signing a leaf is cheap, making a key per host buys nothing.
    private let leafPublicKey: Certificate.PublicKey
    private let leafKeyNIO: NIOSSLPrivateKey
    private let contexts = Mutex<[String: NIOSSLContext]>([:])

    init(commonName: String = "Airlock egress CA") throws {
        do {
            let key = P256.Signing.PrivateKey()
            let leafKey = P256.Signing.PrivateKey()
            signingKey = Certificate.PrivateKey(key)
            leafPublicKey = Certificate.PublicKey(leafKey.publicKey)
            leafKeyNIO = try NIOSSLPrivateKey(bytes: Array(leafKey.pemRepresentation.utf8), format: .pem)
            let publicKey = Certificate.PublicKey(key.publicKey)
            let name = try DistinguishedName {
                CommonName(commonName)
                OrganizationName("Airlock (per run)")
            }
            let now = Date()
            certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(30 * 86400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: publicKey)
                },
                issuerPrivateKey: signingKey)
            certificatePEM = try certificate.serializeAsPEM().pemString
        } catch {
            throw EgressError.certificateAuthority("\(error)")
        }
    }

    /// A server context presenting a leaf for `host` (a DNS name), issued on first use.
    func serverContext(for host: String) throws -> NIOSSLContext {
        if let cached = contexts.withLock({ $0[host] }) { return cached }
        let leaf = try issueLeaf(dnsNames: [host])
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try Self.nio(leaf)), .certificate(try Self.nio(certificate))],
            privateKey: .privateKey(leafKeyNIO))
        configuration.applicationProtocols = ["http/1.1"]
        let context = try NIOSSLContext(configuration: configuration)
        return contexts.withLock { cache in
            if let raced = cache[host] { return raced }
            cache[host] = context
            return context
        }
    }

    /// A leaf for `dnsNames`, signed by this authority. Also used by tests to make servers.
    func issueLeaf(dnsNames: [String], key leafPublic: P256.Signing.PublicKey? = nil) throws -> Certificate {
        let publicKey = leafPublic.map { Certificate.PublicKey($0) } ?? leafPublicKey
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(7 * 86400),
            issuer: certificate.subject,
            subject: try DistinguishedName { CommonName(dnsNames.first ?? "airlock") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(dnsNames.map { GeneralName.dnsName($0) })
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: signingKey)
    }

    static func nio(_ certificate: Certificate) throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(certificate.serializeAsPEM().pemString.utf8), format: .pem)
    }
}
