import AirlockSandbox
import Foundation

/// Egress on a pod, which has no network and nothing of the harness bound in: the guest's
/// loopback relay carries each connection as a stream over its exec channel
/// (`--egress-stream`), and the harness connects it to the egress proxy's socket on its
/// own host. The NetworkPolicy stays default-deny; the pod never needs a route.
enum PodEgress {
    /// The per-run CA and the bundle with it, in the pod's run-time emptyDir (the root
    /// filesystem is read-only, so the host bundle's own path cannot show them, and the
    /// guest's own volume is read-only in the main container).
    static let directory = GuestImage.runDirectory + "/egress"
    static let caPath = directory + "/egress-ca.pem"
    static let bundlePath = directory + "/ca-bundle.pem"

    /// The proxy variables (and, with secrets, the trust variables) every command starts with.
    static func environment(_ egress: EgressAttachment) -> [String: String] {
        egress.environment(ca: caPath, bundle: bundlePath)
    }

    /// The guest's arguments for the relay.
    static func guestArguments(_ egress: EgressAttachment) -> [String] {
        ["--egress-stream", String(egress.port)]
    }

    /// The trust files as a tar for `airlock-guest --unpack` into the guest's directory;
    /// nil when no secret needs TLS interception (no CA).
    static func trustArchive(_ egress: EgressAttachment) -> Data? {
        guard let ca = egress.certificateAuthorityPEM, let bundle = egress.bundlePEM else { return nil }
        var tar = TarWriter()
        tar.directory("egress/")
        tar.file("egress/egress-ca.pem", Data(ca.utf8), mode: 0o444)
        tar.file("egress/ca-bundle.pem", Data(bundle.utf8), mode: 0o444)
        return tar.finish()
    }
}
