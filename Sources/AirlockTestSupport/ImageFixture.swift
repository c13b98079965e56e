import Crypto
import Foundation

/// Images written by the tests themselves (the image and escape suites share them), offline: OCI layouts and `docker save`
/// archives (legacy manifest.json and the OCI-inside form) from tar layers.
public struct ImageFixture {
    public struct Config {
        public var env: [String] = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "IMAGE_ONLY=from-image"]
        public var workingDir: String?
        public var user: String?

        public init(env: [String] = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "IMAGE_ONLY=from-image"],
                    workingDir: String? = nil, user: String? = nil) {
            self.env = env
            self.workingDir = workingDir
            self.user = user
        }
    }

    public let directory: String

    public init(_ label: String) throws {
        directory = NSTemporaryDirectory() + "airlock-img-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    public static func sha256(_ bytes: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    public static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-n", "-c"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread {
            input.fileHandleForWriting.write(Data(bytes))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return [UInt8](data)
    }

    public static func json(_ object: Any) -> [UInt8] {
        // swiftlint:disable:next force_try
        [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// An OCI layout: layers gzipped unless `gzipLayers` is false. Returns the manifest digest.
    @discardableResult
    public func writeLayout(_ name: String, layers: [[UInt8]], config: Config = Config(), gzipLayers: Bool = true,
                     tag: String = "latest", tamper: ((inout [String: Any]) -> Void)? = nil) throws -> (path: String, digest: String) {
        let root = directory + "/" + name
        try FileManager.default.createDirectory(atPath: root + "/blobs/sha256", withIntermediateDirectories: true)
        func put(_ bytes: [UInt8]) throws -> String {
            let digest = Self.sha256(bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: root + "/blobs/sha256/" + digest.dropFirst(7)))
            return digest
        }
        var layerDescriptors: [[String: Any]] = []
        var diffIDs: [String] = []
        for layer in layers {
            diffIDs.append(Self.sha256(layer))
            let blob = gzipLayers ? try Self.gzip(layer) : layer
            layerDescriptors.append(["mediaType": gzipLayers ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar",
                                     "digest": try put(blob), "size": blob.count])
        }
        var runtime: [String: Any] = ["Env": config.env, "Cmd": ["/bin/sh"]]
        if let dir = config.workingDir { runtime["WorkingDir"] = dir }
        if let user = config.user { runtime["User"] = user }
        let configBytes = Self.json(["architecture": "amd64", "os": "linux", "created": "2026-01-02T03:04:05Z",
                                     "config": runtime, "rootfs": ["type": "layers", "diff_ids": diffIDs]])
        var manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": try put(configBytes), "size": configBytes.count],
            "layers": layerDescriptors,
        ]
        tamper?(&manifest)
        let manifestBytes = Self.json(manifest)
        let manifestDigest = try put(manifestBytes)
        let index = Self.json(["schemaVersion": 2, "manifests": [[
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifestDigest, "size": manifestBytes.count,
            "annotations": ["org.opencontainers.image.ref.name": tag],
        ]]])
        try Data(index).write(to: URL(fileURLWithPath: root + "/index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: root + "/oci-layout"))
        return (root, manifestDigest)
    }

    /// `docker save` legacy form: manifest.json, <hex>.json config, <id>/layer.tar.
    public func writeLegacyArchive(_ name: String, layers: [[UInt8]], config: Config = Config()) throws -> String {
        var tar = TarBuilder()
        var diffIDs: [String] = []
        var paths: [String] = []
        for (index, layer) in layers.enumerated() {
            diffIDs.append(Self.sha256(layer))
            let path = "layer\(index)/layer.tar"
            tar.directory("layer\(index)/")
            tar.file(path, data: layer, mode: 0o644)
            paths.append(path)
        }
        var runtime: [String: Any] = ["Env": config.env]
        if let dir = config.workingDir { runtime["WorkingDir"] = dir }
        if let user = config.user { runtime["User"] = user }
        let configBytes = Self.json(["architecture": "amd64", "os": "linux", "config": runtime,
                                     "rootfs": ["type": "layers", "diff_ids": diffIDs]])
        let configName = String(Self.sha256(configBytes).dropFirst(7)) + ".json"
        tar.file(configName, data: configBytes, mode: 0o644)
        tar.file("manifest.json", data: Self.json([["Config": configName, "RepoTags": ["test/\(name):latest"], "Layers": paths]]), mode: 0o644)
        let path = directory + "/" + name + ".tar"
        try Data(tar.archive).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The newer `docker save` form: an OCI layout inside the tar (plus manifest.json).
    public func writeOCIArchive(_ name: String, layers: [[UInt8]], config: Config = Config()) throws -> (path: String, digest: String) {
        let layout = try writeLayout(name + "-layout", layers: layers, config: config)
        var tar = TarBuilder()
        for file in try FileManager.default.subpathsOfDirectory(atPath: layout.path).sorted() {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: layout.path + "/" + file, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                tar.directory(file + "/")
            } else {
                tar.file(file, data: [UInt8](FileManager.default.contents(atPath: layout.path + "/" + file) ?? Data()), mode: 0o644)
            }
        }
        let path = directory + "/" + name + ".tar"
        try Data(tar.archive).write(to: URL(fileURLWithPath: path))
        return (path, layout.digest)
    }

    /// A busybox layer from Debian's busybox-static with its applet links, plus /etc files.
    public static func busyboxLayer() throws -> [UInt8] {
        let busybox = "/bin/busybox"
        guard let data = FileManager.default.contents(atPath: busybox) else { throw POSIXError(.ENOENT) }
        var tar = TarBuilder()
        for directory in ["bin/", "sbin/", "usr/", "usr/bin/", "usr/sbin/", "etc/", "tmp/", "var/", "home/", "root/"] {
            tar.directory(directory)
        }
        tar.file("bin/busybox", data: [UInt8](data), mode: 0o755)
        let list = Process()
        list.executableURL = URL(fileURLWithPath: busybox)
        list.arguments = ["--list-full"]
        let pipe = Pipe()
        list.standardOutput = pipe
        try list.run()
        let applets = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        list.waitUntilExit()
        for applet in applets.split(separator: "\n") where applet != "bin/busybox" {
            tar.symlink(String(applet), to: "/bin/busybox")
        }
        tar.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nworker:x:4242:4343:worker:/home/worker:/bin/sh\n")
        tar.file("etc/group", "root:x:0:\nworkers:x:4343:\n")
        tar.file("etc/os-release", "NAME=airlock-test-busybox\n")
        return tar.archive
    }
}
