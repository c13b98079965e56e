import AirlockSandbox
import AirlockSandboxHost
import Foundation
import Glibc
import Synchronization

/// config.json, encoded, per sandbox shape in this process: sandboxes of one configuration
/// get the same bytes, so a start after the first neither generates nor encodes them
/// (JSONSerialization is most of what a start spent writing its bundle).
package enum OCIConfigCache {
    /// Everything `OCIBundle.generate` reads, and the shared root it names.
    struct Key: Hashable {
        var bundle: OCIBundle
        var configuration: SandboxConfiguration
        var guest: String
        var imageEntries: [HostLayout.Entry]
        var imageFiles: [String]
        var libraries: GuestLibraries?
    }

    /// Few shapes per process in practice; more than this are a churn of unique ones.
    static let capacity = 32
    private static let entries = Mutex<[Key: (config: Data, root: String)]>([:])

    /// config.json for these inputs, its root the shared one under `root`.
    static func encoded(_ key: Key, sharedUnder root: String) throws(SandboxError) -> Data {
        // A shared root removed under us (state wiped by hand) is made again.
        if let known = entries.withLock({ $0[key] }), access(known.root, F_OK) == 0 {
            return known.config
        }
        var (config, skeleton) = key.bundle.generate(key.configuration, guestOnHost: key.guest, imageEntries: key.imageEntries,
                                                     imageFiles: key.imageFiles, guestLibraries: key.libraries)
        // The root is shared by every sandbox of this shape (see OCISharedParts).
        let rootfs = try OCISharedParts.rootfs(under: root, skeleton: skeleton)
        config["root"] = ["path": rootfs, "readonly": true]
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]) } catch {
            throw SandboxError(.configuration, "cannot encode the OCI config: \(error)")
        }
        entries.withLock {
            if $0.count >= capacity { $0.removeAll() }
            $0[key] = (data, rootfs)
        }
        return data
    }
}
