import AirlockSandbox
import AirlockSandboxHost
import Foundation
import Glibc

/// Writes bundles: a sandbox's own (config.json and its CA bundles, beside shared parts), or
/// a self-contained one (the bench's raw baseline).
package enum OCIBundleWriter {
    /// The sandbox's bundle directory (0711: the runtime's mapped users traverse it, nobody
    /// lists it), its CA bundles under `generated/` when egress brings some, and config.json.
    package static func writeOwn(bundle: String, config: Data, egress: EgressAttachment?,
                                 editConfig: (@Sendable (String, inout Data) -> Void)?) throws(SandboxError) {
        try OCISharedParts.makeDirectories(bundle, mode: 0o711)
        if let egress, let ca = egress.certificateAuthorityPEM, let pem = egress.bundlePEM {
            let generated = bundle + "/generated"
            try OCISharedParts.makeDirectories(generated, mode: 0o711)
            try OCISharedParts.write(generated + "/egress-ca.pem", Data(ca.utf8), mode: 0o444)
            try OCISharedParts.write(generated + "/ca-bundle.pem", Data(pem.utf8), mode: 0o444)
        }
        var data = config
        editConfig?(bundle, &data)
        try OCISharedParts.write(bundle + "/config.json", data, mode: 0o600)
    }

    /// A bundle holding everything itself: its root at `rootfs/`, generated files in
    /// `generated/`.
    package static func write(bundle: String, config: [String: Any], skeleton: [OCIBundle.Skeleton],
                              egress: EgressAttachment?, editConfig: (@Sendable (String, inout Data) -> Void)?) throws(SandboxError) {
        try OCISharedParts.makeDirectories(bundle, mode: 0o711)
        OCISharedParts.traversable((bundle as NSString).deletingLastPathComponent)
        try OCISharedParts.makeDirectories(bundle + "/rootfs", mode: 0o755)
        try OCISharedParts.lay(skeleton, in: bundle + "/rootfs")
        let generated = bundle + "/generated"
        try OCISharedParts.makeDirectories(generated, mode: 0o711)
        var files = ["passwd": SandboxEnvironment.passwd, "group": SandboxEnvironment.group]
        if let egress, let ca = egress.certificateAuthorityPEM, let pem = egress.bundlePEM {
            files["egress-ca.pem"] = ca
            files["ca-bundle.pem"] = pem
        }
        for (name, text) in files { try OCISharedParts.write(generated + "/" + name, Data(text.utf8), mode: 0o444) }
        try writeConfig(bundle: bundle, config: config, editConfig: editConfig)
    }

    /// config.json (0600), compact: the runtime is its only reader.
    static func writeConfig(bundle: String, config: [String: Any],
                            editConfig: (@Sendable (String, inout Data) -> Void)?) throws(SandboxError) {
        var data: Data
        do { data = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]) } catch {
            throw SandboxError(.configuration, "cannot encode the OCI config: \(error)")
        }
        editConfig?(bundle, &data)
        try OCISharedParts.write(bundle + "/config.json", data, mode: 0o600)
    }
}
