import AirlockCore
import AirlockImages
import Foundation

extension HostReport {
    /// The image store and how an image sandbox's writable root is made here, with its cost.
    static func imageCheck(stateDirectory: String) -> Check {
        let store = ImageStore(stateDirectory: stateDirectory)
        let images = (try? store.list()) ?? []
        let bytes = images.reduce(0) { $0 + $1.image.size }
        let reflinks = ["btrfs", "xfs"].contains(fileSystemType(of: stateDirectory))
        let cost = reflinks
            ? "reflinked per sandbox (btrfs/XFS): metadata only, cheap"
            : "copied per sandbox with cp -a (no reflinks on this file system): about the image's size in I/O at every start (\(ByteCount.text(bytes / max(images.count, 1))) for an average image here)"
        return Check(name: "images", ok: true,
                     detail: "store \(store.directory): \(images.count) image(s), \(ByteCount.text(bytes)); writable root: copy, \(cost); "
                         + "--image-root read-only costs nothing (overlay is not used: an unprivileged sandbox uid cannot write the root-owned lower layer through it)")
    }

    /// `stat -f -c %T` of the path or its nearest existing parent ("ext2/ext3", "btrfs", …).
    static func fileSystemType(of path: String) -> String {
        var probe = path
        while !FileManager.default.fileExists(atPath: probe) && probe != "/" {
            probe = (probe as NSString).deletingLastPathComponent
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/stat")
        process.arguments = ["-f", "-c", "%T", probe]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
