import AirlockProtocol
import AirlockSandbox
import AirlockSandboxHost
import Crypto
import Foundation

/// The small image a pod's `guest` container copies the guest from: `/airlock/airlock-guest`, a
/// fully static executable, so the sandbox's own image needs neither a shell nor a libc.
/// Written as an OCI archive (`airlock image guest -o FILE`) for `docker load`/`ctr images
/// import`/`skopeo copy`.
public enum GuestImage {
    /// The reference the backend runs by default; the tag follows the guest protocol.
    public static let defaultReference = "ghcr.io/airlock-sandbox/airlock-guest:protocol-\(ProtocolVersion.current)"
    /// The pod's container that runs the guest image (and copies the guest in).
    static let containerName = "guest"
    /// Where the `guest` container finds the guest, and where the sandbox container runs it.
    static let sourceDirectory = "/airlock"
    static let installDirectory = "/opt/airlock"
    /// A small writable emptyDir for what the harness puts beside the guest at run time (the
    /// pod's holder, the egress CA): the guest's own volume is read-only in the main container,
    /// so a command there cannot replace the guest that the next exec would start.
    static let runDirectory = "/run/airlock"
    /// `airlock-guest --pack … --holder ID` when another sandbox holds the pod (PodHolder).
    static let takenOverStatus: Int32 = 77

    /// The command that runs the guest binary at `directory`.
    static func launch(directory: String, arguments: [String]) -> [String] {
        [directory + "/airlock-guest"] + arguments
    }

    /// Refuses a dynamically linked guest: a pod's image has no loader or libraries for it.
    static func requireStatic(_ guest: String) throws(SandboxError) {
        let libraries: GuestLibraries?
        do { libraries = try GuestLibraries.resolve(guest) } catch {
            throw SandboxError(.unavailable, error.message, fix: "install libc-bin (ldd)")
        }
        guard libraries == nil else {
            throw SandboxError(.configuration, "the guest \(guest) is dynamically linked; a pod's image cannot run it",
                               fix: "build the guest static (swift build: Package.swift links airlock-guest with -static-executable)")
        }
    }

    /// Writes the OCI archive for `reference` from the guest at `guestPath`.
    public static func write(to path: String, reference: String = defaultReference, guestPath: String? = nil) throws(SandboxError) {
        let guest = try GuestBinary.locate(guestPath)
        try requireStatic(guest)
        guard let binary = FileManager.default.contents(atPath: guest) else {
            throw SandboxError(.unavailable, "cannot read the guest \(guest)")
        }
        var layer = TarWriter()
        layer.directory("airlock/")
        layer.file("airlock/airlock-guest", binary, mode: 0o555)
        let archive = OCIArchive.make(reference: reference, layer: layer.finish(),
                                      command: launch(directory: sourceDirectory, arguments: ["--help"]))
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
