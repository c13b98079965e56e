import AirlockProtocol
import AirlockSandbox
import AirlockSandboxHost
import Crypto
import Foundation

/// The small image an init container copies the guest from: `/airlock/airlock-guest`, and
/// when the guest is dynamically linked, its loader and libraries in `/airlock/lib` (the
/// sandbox's own image may have neither a shell nor glibc). Written as an OCI archive
/// (`airlock image guest -o FILE`) for `docker load`/`ctr images import`/`skopeo copy`.
public enum GuestImage {
    /// The reference the backend runs by default; the tag follows the guest protocol.
    public static let defaultReference = "ghcr.io/airlock-sandbox/airlock-guest:protocol-\(ProtocolVersion.current)"
    /// Where the init container finds the guest, and where the sandbox container runs it.
    static let sourceDirectory = "/airlock"
    static let installDirectory = "/opt/airlock"

    /// The command that runs the guest binary at `directory` (through the bundled loader when
    /// the guest is dynamic).
    static func launch(directory: String, dynamic: Bool, arguments: [String]) -> [String] {
        dynamic ? [directory + "/lib/ld.so", "--library-path", directory + "/lib", directory + "/airlock-guest"] + arguments
            : [directory + "/airlock-guest"] + arguments
    }

    /// Whether the local guest (the one the image is written from) is dynamically linked.
    static func isDynamic(_ guest: String) throws(SandboxError) -> Bool {
        do { return try GuestLibraries.resolve(guest) != nil } catch {
            throw SandboxError(.unavailable, error.message, fix: "install libc-bin (ldd)")
        }
    }

    /// Writes the OCI archive for `reference` from the guest at `guestPath`.
    public static func write(to path: String, reference: String = defaultReference, guestPath: String? = nil) throws(SandboxError) {
        let guest = try GuestBinary.locate(guestPath)
        var files: [(String, Data)] = []
        guard let binary = FileManager.default.contents(atPath: guest) else {
            throw SandboxError(.unavailable, "cannot read the guest \(guest)")
        }
        files.append(("airlock/airlock-guest", binary))
        let libraries: GuestLibraries?
        do { libraries = try GuestLibraries.resolve(guest) } catch {
            throw SandboxError(.unavailable, error.message, fix: "install libc-bin (ldd)")
        }
        if let libraries {
            for library in [libraries.loader] + libraries.libraries {
                guard let data = FileManager.default.contents(atPath: library) else {
                    throw SandboxError(.unavailable, "cannot read the guest's library \(library)")
                }
                let name = library == libraries.loader ? "ld.so" : (library as NSString).lastPathComponent
                files.append(("airlock/lib/" + name, data))
            }
        }
        var layer = TarWriter()
        layer.directory("airlock/")
        if libraries != nil { layer.directory("airlock/lib/") }
        for (name, data) in files { layer.file(name, data, mode: 0o555) }
        let archive = OCIArchive.make(reference: reference, layer: layer.finish(), command: launch(
            directory: sourceDirectory, dynamic: libraries != nil, arguments: ["--help"]))
        guard FileManager.default.createFile(atPath: path, contents: archive) else {
            throw SandboxError(.configuration, "cannot write \(path)")
        }
    }
}


/// An OCI image layout as one tar: oci-layout, index.json and the blobs.
enum OCIArchive {
    static func make(reference: String, layer: Data, command: [String]) -> Data {
        var blobs: [(String, Data)] = []
        func blob(_ data: Data) -> [String: Any] {
            let digest = "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            blobs.append((digest, data))
            return ["digest": digest, "size": data.count]
        }
        func json(_ object: [String: Any]) -> Data {
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        }
        let layerDescriptor = blob(layer)
        let config = json(["architecture": "amd64", "os": "linux",
                           "config": ["Cmd": command, "User": "65532:65532"],
                           "rootfs": ["type": "layers", "diff_ids": [layerDescriptor["digest"] ?? ""]]])
        var configDescriptor = blob(config)
        configDescriptor["mediaType"] = "application/vnd.oci.image.config.v1+json"
        var layerEntry = layerDescriptor
        layerEntry["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
        var manifestDescriptor = blob(json(["schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                            "config": configDescriptor, "layers": [layerEntry]]))
        manifestDescriptor["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        let tag = reference.split(separator: ":").last.map(String.init) ?? "latest"
        manifestDescriptor["annotations"] = ["io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag]
        var archive = TarWriter()
        archive.file("oci-layout", json(["imageLayoutVersion": "1.0.0"]))
        archive.file("index.json", json(["schemaVersion": 2, "manifests": [manifestDescriptor]]))
        archive.directory("blobs/")
        archive.directory("blobs/sha256/")
        for (digest, data) in blobs { archive.file("blobs/sha256/" + digest.dropFirst(7), data) }
        return archive.finish()
    }
}
