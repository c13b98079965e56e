/// The OCI (and Docker) JSON documents the importer reads. Only the fields used are
/// decoded; unknown fields are ignored as the specs require.
struct Descriptor: Codable, Sendable, Hashable {
    var mediaType: String?
    var digest: Digest
    var size: Int
    var annotations: [String: String]?
    var platform: Platform?

    struct Platform: Codable, Sendable, Hashable {
        var architecture: String?
        var os: String?
        var variant: String?
    }
}

struct ImageIndex: Codable, Sendable {
    var schemaVersion: Int?
    var mediaType: String?
    var manifests: [Descriptor]
}

struct ImageManifest: Codable, Sendable {
    var schemaVersion: Int?
    var mediaType: String?
    var config: Descriptor
    var layers: [Descriptor]
}

/// The image configuration (`application/vnd.oci.image.config.v1+json`).
struct ImageConfigDocument: Codable, Sendable {
    var created: String?
    var architecture: String?
    var os: String?
    var config: RuntimeConfig?
    var rootfs: RootFS

    struct RuntimeConfig: Codable, Sendable {
        var Env: [String]?
        var WorkingDir: String?
        var User: String?
        var Entrypoint: [String]?
        var Cmd: [String]?
    }

    struct RootFS: Codable, Sendable {
        var type: String
        var diff_ids: [Digest]
    }
}

/// One entry of a legacy `docker save` manifest.json.
struct DockerArchiveEntry: Codable, Sendable {
    var Config: String
    var RepoTags: [String]?
    var Layers: [String]
}

enum MediaType {
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let layerTar = "application/vnd.oci.image.layer.v1.tar"

    static func isIndex(_ type: String?) -> Bool { type == ociIndex || type == dockerList }
}
