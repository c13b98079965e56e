import AirlockCore
import AirlockImages
import AirlockSandboxHost
import Foundation

extension HostReport {
    /// The image store and how an image sandbox's writable root is made here, with its cost.
    static func imageCheck(stateDirectory: String) -> Check {
        let store = ImageStore(stateDirectory: stateDirectory)
        let images = (try? store.list()) ?? []
        let bytes = images.reduce(0) { $0 + $1.image.size }
        let reflinks = ["btrfs", "xfs"].contains(fileSystemType(of: stateDirectory))
        let copyCost = reflinks
            ? "reflinked (btrfs/XFS): metadata only"
            : "a full cp -a (no reflinks on this file system): about the image's size in I/O per start, \(ByteCount.text(bytes / max(images.count, 1))) for an average image here"
        let method = geteuid() == 0
            ? "overlay (an overlay over an idmapped view of the shared tree, mounted by the harness per sandbox: two mounts and two directories, ~1 ms; a file is copied only when the sandbox writes it); copy where idmapped mounts fail (\(copyCost))"
            : "copy (\(copyCost)); the overlay needs a root harness to idmap the store's tree"
        return Check(name: "images", ok: true,
                     detail: "store \(store.directory): \(images.count) image(s), \(ByteCount.text(bytes)); writable root: \(method); --image-root read-only costs nothing")
    }

    /// `stat -f -c %T` of the path or its nearest existing parent ("ext2/ext3", "btrfs", …).
    static func fileSystemType(of path: String) -> String {
        var probe = path
        while !FileManager.default.fileExists(atPath: probe) && probe != "/" {
            probe = (probe as NSString).deletingLastPathComponent
        }
        guard let run = ExecutableLookup.run("/usr/bin/stat", ["-f", "-c", "%T", probe], timeout: 5), run.succeeded else {
            return "unknown"
        }
        return run.output.trimmingSpaces
    }
}
