import Foundation

/// From an image source to one verified manifest and config: index → (nested index, the
/// linux/amd64 entry) → manifest → config; or a legacy `docker save` manifest.json, for
/// which an equivalent OCI manifest is synthesised (its digest names the image).
struct ResolvedImage: Sendable {
    var manifestBytes: [UInt8]
    var manifestDigest: Digest
    var manifest: ImageManifest
    var configBytes: [UInt8]
    var config: ImageConfigDocument
    /// Legacy archives carry no compressed digests: their layer digests are diff_ids.
    var layerDigestsAreDiffIDs: Bool
    /// Where each layer's bytes are, relative to the source.
    var layerPaths: [String]
}

struct ManifestResolver {
    let source: any BlobSource
    let limits: ImageLimits
    let tag: String?

    func resolve() throws(ImageError) -> ResolvedImage {
        if let range = try source.open("index.json") {
            close(range.fd)
            return try fromIndex()
        }
        if let range = try source.open("manifest.json") {
            close(range.fd)
            return try fromLegacy()
        }
        throw ImageError(.invalid, "neither index.json nor manifest.json found: not an OCI layout or docker archive")
    }

    private func fromIndex() throws(ImageError) -> ResolvedImage {
        let index: ImageIndex = try decode(source.document("index.json", expected: nil, limits: limits), "index.json")
        var descriptor = try pick(from: index, top: true)
        for _ in 0..<4 where MediaType.isIndex(descriptor.mediaType) {
            let nested: ImageIndex = try decode(
                source.document(source.path(of: descriptor.digest), expected: descriptor, limits: limits),
                "index \(descriptor.digest)")
            descriptor = try pick(from: nested, top: false)
        }
        guard !MediaType.isIndex(descriptor.mediaType) else {
            throw ImageError(.invalid, "image indexes nest too deeply")
        }
        let bytes = try source.document(source.path(of: descriptor.digest), expected: descriptor, limits: limits)
        let manifest: ImageManifest = try decode(bytes, "manifest \(descriptor.digest)")
        let (configBytes, config) = try readConfig(manifest.config, path: source.path(of: manifest.config.digest))
        return ResolvedImage(manifestBytes: bytes, manifestDigest: descriptor.digest, manifest: manifest,
                             configBytes: configBytes, config: config, layerDigestsAreDiffIDs: false,
                             layerPaths: manifest.layers.map { source.path(of: $0.digest) })
    }

    private func pick(from index: ImageIndex, top: Bool) throws(ImageError) -> Descriptor {
        var candidates = index.manifests
        if top, let tag {
            candidates = candidates.filter {
                let name = $0.annotations?["org.opencontainers.image.ref.name"]
                return name == tag || name?.hasSuffix(":" + tag) == true
            }
            guard !candidates.isEmpty else {
                throw ImageError(.reference, "no manifest tagged '\(Digest.printable(tag))' in index.json",
                                 fix: "check the tags with `cat DIR/index.json`, or leave the tag out")
            }
        }
        if candidates.count > 1 {
            let amd64 = candidates.filter { $0.platform?.os == "linux" && $0.platform?.architecture == "amd64" }
            if let first = amd64.first { return first }
            if top, tag == nil {
                throw ImageError(.reference, "index.json holds \(candidates.count) manifests",
                                 fix: "name one with oci:DIR:TAG")
            }
        }
        guard let first = candidates.first else { throw ImageError(.invalid, "the image index lists no manifests") }
        return first
    }

    private func readConfig(_ descriptor: Descriptor, path: String) throws(ImageError) -> ([UInt8], ImageConfigDocument) {
        let bytes = try source.document(path, expected: descriptor, limits: limits)
        let config: ImageConfigDocument = try decode(bytes, "config \(descriptor.digest)")
        guard config.rootfs.type == "layers" else {
            throw ImageError(.invalid, "config rootfs type '\(Digest.printable(config.rootfs.type))' is not 'layers'")
        }
        if let os = config.os, os != "linux" {
            throw ImageError(.invalid, "the image is for \(Digest.printable(os)), not linux")
        }
        return (bytes, config)
    }

    private func fromLegacy() throws(ImageError) -> ResolvedImage {
        let entries: [DockerArchiveEntry] = try decode(source.document("manifest.json", expected: nil, limits: limits), "manifest.json")
        var chosen = entries.first
        if let tag {
            chosen = entries.first { $0.RepoTags?.contains { $0 == tag || $0.hasSuffix(":" + tag) } == true }
        }
        guard let entry = chosen else {
            throw ImageError(.reference, tag == nil ? "manifest.json lists no image" : "no image tagged '\(Digest.printable(tag ?? ""))' in the archive")
        }
        // The config's own bytes name it: verify against its file name when that is a digest.
        let configRaw = try source.document(entry.Config, expected: nil, limits: limits)
        let configDigest = ContentHash.digest(of: configRaw)
        let stem = entry.Config.split(separator: "/").last.map { String($0.split(separator: ".").first ?? "") } ?? ""
        if stem.utf8.count == 64, stem != configDigest.hex {
            throw ImageError(.invalid, "digest mismatch for \(entry.Config): its content hashes to \(configDigest)")
        }
        let configDescriptor = Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: configRaw.count)
        let (configBytes, config) = try readConfig(configDescriptor, path: entry.Config)
        guard config.rootfs.diff_ids.count == entry.Layers.count else {
            throw ImageError(.invalid, "manifest.json lists \(entry.Layers.count) layers, the config \(config.rootfs.diff_ids.count)")
        }
        var layers: [Descriptor] = []
        for (path, diffID) in zip(entry.Layers, config.rootfs.diff_ids) {
            guard let range = try source.open(path) else { throw ImageError(.invalid, "the archive has no \(path)") }
            close(range.fd)
            layers.append(Descriptor(mediaType: MediaType.layerTar, digest: diffID, size: range.length))
        }
        let manifest = ImageManifest(schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDescriptor, layers: layers)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(manifest) else { throw ImageError(.invalid, "cannot encode a manifest") }
        let bytes = [UInt8](data)
        return ResolvedImage(manifestBytes: bytes, manifestDigest: ContentHash.digest(of: bytes), manifest: manifest,
                             configBytes: configBytes, config: config, layerDigestsAreDiffIDs: true,
                             layerPaths: entry.Layers)
    }

    private func decode<T: Decodable>(_ bytes: [UInt8], _ what: String) throws(ImageError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as ImageError {
            throw error
        } catch let DecodingError.dataCorrupted(context) where context.underlyingError is ImageError {
            throw (context.underlyingError as? ImageError) ?? ImageError(.invalid, "\(what) is malformed")
        } catch {
            throw ImageError(.invalid, "\(what) is not a valid document: \(Self.brief(error))")
        }
    }

    static func brief(_ error: any Error) -> String {
        if case DecodingError.keyNotFound(let key, _) = error { return "missing \(key.stringValue)" }
        if case DecodingError.typeMismatch(_, let context) = error { return context.debugDescription }
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as? ImageError)?.message ?? context.debugDescription
        }
        return "malformed JSON"
    }
}
