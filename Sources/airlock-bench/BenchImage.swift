import AirlockImages
import Foundation
import Glibc

/// The benchmark's images, built with tar, gzip and sha256sum from host files: a busybox
/// layer and a layer of the host's Python standard library (thousands of small files,
/// like a real image).
struct BenchImage {
    var path: String
    var layers: Int
    var uncompressedBytes: Int
    var files: Int

    static func build(in scratch: String) throws -> BenchImage {
        let layout = scratch + "/layout"
        try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
        let sources: [(String, [String])] = [
            ("/", ["bin/busybox"]),
            ("/", [["usr/lib/python3.11", "usr/lib/python3"].first { access("/" + $0, F_OK) == 0 } ?? "usr/share/doc"]),
        ]
        var descriptors: [String] = []
        var diffIDs: [String] = []
        var total = 0
        var files = 0
        for (index, (directory, paths)) in sources.enumerated() {
            let tar = scratch + "/layer\(index).tar"
            try ChildRun.check("/bin/tar", ["-C", directory, "--numeric-owner", "-cf", tar] + paths)
            files += try ChildRun.check("/bin/tar", ["-tf", tar]).split(separator: "\n").count
            diffIDs.append("sha256:" + (try sha256(tar)))
            total += Int((try FileManager.default.attributesOfItem(atPath: tar)[.size] as? NSNumber)?.intValue ?? 0)
            try ChildRun.check("/bin/gzip", ["-n", "-f", tar])
            let blob = tar + ".gz"
            let digest = try sha256(blob)
            let size = (try FileManager.default.attributesOfItem(atPath: blob)[.size] as? NSNumber)?.intValue ?? 0
            try FileManager.default.moveItem(atPath: blob, toPath: layout + "/blobs/sha256/" + digest)
            descriptors.append(#"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:\#(digest)","size":\#(size)}"#)
        }
        let config = #"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin"]},"rootfs":{"type":"layers","diff_ids":[\#(diffIDs.map { "\"\($0)\"" }.joined(separator: ","))]}}"#
        let configDigest = try put(config, layout)
        let manifest = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(configDigest)","size":\#(config.utf8.count)},"layers":[\#(descriptors.joined(separator: ","))]}"#
        let manifestDigest = try put(manifest, layout)
        let index = #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(manifestDigest)","size":\#(manifest.utf8.count),"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}"#
        try index.write(toFile: layout + "/index.json", atomically: true, encoding: .utf8)
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: layout + "/oci-layout", atomically: true, encoding: .utf8)
        return BenchImage(path: layout, layers: sources.count, uncompressedBytes: total, files: files)
    }

    /// A one-layer busybox image (static busybox and its applet links) in `store`.
    static func busybox(in scratch: String, store: ImageStore) throws -> StoredImage {
        let root = scratch + "/busybox-root"
        for directory in ["bin", "usr/bin", "sbin", "usr/sbin", "etc"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
        for applet in try ChildRun.check("/bin/busybox", ["--list-full"]).split(separator: "\n") where applet != "bin/busybox" {
            try? FileManager.default.createSymbolicLink(atPath: root + "/" + applet, withDestinationPath: "/bin/busybox")
        }
        let layout = scratch + "/busybox-layout"
        try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
        let tar = scratch + "/busybox.tar"
        try ChildRun.check("/bin/tar", ["-C", root, "--numeric-owner", "-cf", tar, "."])
        let diffID = try sha256(tar)
        let digest = diffID
        let size = (try FileManager.default.attributesOfItem(atPath: tar)[.size] as? NSNumber)?.intValue ?? 0
        try FileManager.default.moveItem(atPath: tar, toPath: layout + "/blobs/sha256/" + digest)
        let config = #"{"os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:\#(diffID)"]}}"#
        let configDigest = try put(config, layout)
        let manifest = #"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(configDigest)","size":\#(config.utf8.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:\#(digest)","size":\#(size)}]}"#
        let manifestDigest = try put(manifest, layout)
        try #"{"schemaVersion":2,"manifests":[{"digest":"sha256:\#(manifestDigest)","size":\#(manifest.utf8.count)}]}"#
            .write(toFile: layout + "/index.json", atomically: true, encoding: .utf8)
        return try ImageImporter(store: store).importImage(.ociLayout(directory: layout, tag: nil), name: "busybox")
    }

    private static func put(_ text: String, _ layout: String) throws -> String {
        let path = layout + "/blobs/sha256/tmp"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let digest = try sha256(path)
        try FileManager.default.moveItem(atPath: path, toPath: layout + "/blobs/sha256/" + digest)
        return digest
    }

    private static func sha256(_ path: String) throws -> String {
        String(try ChildRun.check("/usr/bin/sha256sum", [path]).prefix(64))
    }
}
