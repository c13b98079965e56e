import AirlockSandbox
import AirlockSandboxHost
import Foundation
import Glibc

/// Writes a generated bundle: config.json, the root's skeleton, and generated files.
package enum OCIBundleWriter {
    package static func write(bundle: String, config: [String: Any], skeleton: [OCIBundle.Skeleton],
                      egress: EgressAttachment?, editConfig: (@Sendable (String, inout Data) -> Void)?) throws(SandboxError) {
        let manager = FileManager.default
        let rootfs = bundle + "/rootfs"
        let generated = bundle + "/generated"
        do {
            // 0711: the runtime's mapped users traverse the bundle, nobody lists it; the root
            // (empty mount points and symlinks only) must be readable to them.
            for (directory, mode) in [(bundle, 0o711), (rootfs, 0o755), (generated, 0o711)] {
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: mode])
                chmod(directory, mode_t(mode))
            }
            // The runtime's mapped users traverse every level down to the bundle.
            var level = (bundle as NSString).deletingLastPathComponent
            while level.count > 1 && level != "/run" {
                chmod(level, 0o711)
                level = (level as NSString).deletingLastPathComponent
            }
            var files = ["passwd": SandboxEnvironment.passwd, "group": SandboxEnvironment.group]
            if let egress, let ca = egress.certificateAuthorityPEM, let pem = egress.bundlePEM {
                files["egress-ca.pem"] = ca
                files["ca-bundle.pem"] = pem
            }
            for (name, text) in files {
                guard manager.createFile(atPath: generated + "/" + name, contents: Data(text.utf8),
                                         attributes: [.posixPermissions: 0o444]) else {
                    throw SandboxError(.configuration, "cannot write \(generated)/\(name)")
                }
            }
            for item in skeleton {
                switch item {
                case .directory(let path):
                    try manager.createDirectory(atPath: rootfs + path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
                case .file(let path):
                    try manager.createDirectory(atPath: rootfs + (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                    if !manager.fileExists(atPath: rootfs + path) {
                        manager.createFile(atPath: rootfs + path, contents: nil, attributes: [.posixPermissions: 0o644])
                    }
                case .symlink(let path, let target):
                    try manager.createSymbolicLink(atPath: rootfs + path, withDestinationPath: target)
                }
            }
            var data = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted])
            editConfig?(bundle, &data)
            guard manager.createFile(atPath: bundle + "/config.json", contents: data,
                                     attributes: [.posixPermissions: 0o600]) else {
                throw SandboxError(.configuration, "cannot write \(bundle)/config.json")
            }
        } catch let error as SandboxError {
            throw error
        } catch {
            throw SandboxError(.configuration, "cannot lay out the OCI bundle at \(bundle): \(error)")
        }
    }
}
