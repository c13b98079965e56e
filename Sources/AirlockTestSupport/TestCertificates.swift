import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A throwaway certificate authority for tests: a CA and server leaves it signs, as PEM and
/// as a NIOSSL server context. Never trusted by anything but the test that made it.
public struct TestCertificates: Sendable {
    public let caPEM: String
    /// The CA's key as raw bytes (the key type itself is not Sendable).
    private let caKeyBytes: Data
    private let caName: DistinguishedName

    public init(name: String = "Airlock Test CA") throws {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let certificate = try Self.certificate(for: key, subject: subject, issuer: subject, signer: key,
                                               extensions: try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        })
        caPEM = try certificate.serializeAsPEM().pemString
        caKeyBytes = key.rawRepresentation
        caName = subject
    }

    /// A server leaf for `names` (DNS names, or IPv4/IPv6 literals) and its key, as PEM.
    public func leaf(for names: [String]) throws -> (certificatePEM: String, keyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(names.first ?? "localhost") }
        let alternatives = SubjectAlternativeNames(names.map { name -> GeneralName in
            var v4 = in_addr(), v6 = in6_addr()
            if inet_pton(AF_INET, name, &v4) == 1 {
                return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: &v4) { Array($0) })))
            }
            if inet_pton(AF_INET6, name, &v6) == 1 {
                return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: &v6) { Array($0) })))
            }
            return .dnsName(name)
        })
        let certificate = try Self.certificate(
            for: key, subject: subject, issuer: caName,
            signer: try P256.Signing.PrivateKey(rawRepresentation: caKeyBytes),
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                alternatives
                try ExtendedKeyUsage([.serverAuth])
            })
        return (try certificate.serializeAsPEM().pemString, try key.pemRepresentation)
    }

    /// A certificate valid from an hour ago for a day.
    private static func certificate(for key: P256.Signing.PrivateKey, subject: DistinguishedName,
                                    issuer: DistinguishedName, signer: P256.Signing.PrivateKey,
                                    extensions: Certificate.Extensions) throws -> Certificate {
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400,
            issuer: issuer, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(signer))
    }

    /// A TLS server context presenting a leaf for `names`.
    public func serverContext(for names: [String]) throws -> NIOSSLContext {
        let leaf = try leaf(for: names)
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(leaf.certificatePEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(leaf.keyPEM.utf8), format: .pem)))
        return try NIOSSLContext(configuration: configuration)
    }
}
