import Foundation
import Glibc

/// Imports an image into the store: resolve and verify the manifest and config, then per
/// layer copy the blob into a private work dir while hashing it (so what is parsed is
/// exactly what was verified), and stream it through gunzip and the tar reader into the
/// rootfs while checking its diff_id. The work dir is renamed into the store only when
/// everything checked out; on any error it is deleted and the store is unchanged.
public struct ImageImporter: Sendable {
    public struct Progress: Sendable {
        public var layer: Int
        public var layers: Int
        public var bytes: Int
        public var totalBytes: Int
    }

    public let store: ImageStore
    public var limits: ImageLimits
    public var progress: (@Sendable (Progress) -> Void)?

    public init(store: ImageStore, limits: ImageLimits = ImageLimits()) {
        self.store = store
        self.limits = limits
    }

    /// Imports `reference` (unless the store has it already) and names it.
    public func importImage(_ reference: ImageReference, name: String? = nil) throws(ImageError) -> StoredImage {
        let source: any BlobSource
        let tag: String?
        switch reference {
        case .ociLayout(let directory, let layoutTag):
            source = try DirectoryBlobSource(directory: directory)
            tag = layoutTag
        case .dockerArchive(let file):
            source = try TarArchiveSource(file: file, limits: limits)
            tag = nil
        case .directory:
            throw ImageError(.reference, "dir: images are used in place, not imported", fix: "pass --image dir:PATH to run or exec")
        case .stored(let key):
            return try store.find(key)
        }
        let resolved = try ManifestResolver(source: source, limits: limits, tag: tag).resolve()
        let image: StoredImage
        if let existing = try? store.metadata(resolved.manifestDigest) {
            image = existing
        } else {
            image = try unpack(resolved, from: source, reference: reference)
        }
        try store.setName(name ?? reference.defaultName, to: image.digest)
        return image
    }

    private func unpack(_ resolved: ResolvedImage, from source: any BlobSource,
                        reference: ImageReference) throws(ImageError) -> StoredImage {
        let layers = resolved.manifest.layers
        guard layers.count <= limits[.layers] else { throw limits.exceeded(.layers, "\(layers.count) layers") }
        guard layers.count == resolved.config.rootfs.diff_ids.count else {
            throw ImageError(.invalid, "the manifest lists \(layers.count) layers, the config \(resolved.config.rootfs.diff_ids.count) diff_ids")
        }
        for layer in layers where layer.size > limits[.layerCompressed] {
            throw limits.exceeded(.layerCompressed, "layer \(layer.digest) (\(layer.size) bytes)")
        }
        try store.prepare()
        let work = store.temporaryDirectory + "/\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard mkdir(work, 0o700) == 0, mkdir(work + "/rootfs", 0o755) == 0 else {
            throw ImageError.io("cannot create a work directory in \(store.temporaryDirectory)", errno)
        }
        do throws(ImageError) {
            let image = try unpack(resolved, from: source, reference: reference, into: work)
            let target = store.imageDirectory(resolved.manifestDigest)
            if rename(work, target) != 0 {
                // Another import of the same image finished first: keep that one.
                let error = errno
                ImageStore.removeTree(work)
                guard error == EEXIST || error == ENOTEMPTY else { throw ImageError.io("cannot move the image into the store", error) }
            }
            return image
        } catch {
            ImageStore.removeTree(work)
            throw error
        }
    }

    private func unpack(_ resolved: ResolvedImage, from source: any BlobSource, reference: ImageReference,
                        into work: String) throws(ImageError) -> StoredImage {
        let rootFD = open(work + "/rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw ImageError.io("cannot open the work rootfs", errno) }
        defer { close(rootFD) }
        let applier = LayerApplier(rootFD: rootFD)
        var totals = LayerTotals()
        let totalBytes = resolved.manifest.layers.reduce(0) { $0 + $1.size }
        var doneBytes = 0
        var records: [StoredImage.Layer] = []
        for (index, layer) in resolved.manifest.layers.enumerated() {
            let diffID = resolved.config.rootfs.diff_ids[index]
            progress?(Progress(layer: index + 1, layers: resolved.manifest.layers.count, bytes: doneBytes, totalBytes: totalBytes))
            try LayerUnpack(limits: limits, number: index + 1, descriptor: layer, diffID: diffID,
                            digestIsDiffID: resolved.layerDigestsAreDiffIDs)
                .run(source: source, path: resolved.layerPaths[index], work: work, applier: applier, totals: &totals)
            doneBytes += layer.size
            records.append(StoredImage.Layer(digest: layer.digest, diffID: diffID, size: layer.size, mediaType: layer.mediaType))
        }
        progress?(Progress(layer: records.count, layers: records.count, bytes: totalBytes, totalBytes: totalBytes))
        try MountPoints.create(in: rootFD)
        let runtime = resolved.config.config
        // Like a container runtime, make a missing WorkingDir (the root may be read-only later).
        // One reached through a symlink is left alone: it resolves inside the sandbox.
        if let directory = runtime?.WorkingDir, !directory.isEmpty,
           let path = try? TreePath(tarName: directory), let fd = try? applier.openDirectory(path, create: true) {
            close(fd)
        }
        let identity = ImageUser.resolve(runtime?.User, rootFD: rootFD)
        let image = StoredImage(
            digest: resolved.manifestDigest, configDigest: resolved.manifest.config.digest, layers: records,
            size: totals.bytes, entries: totals.entries, environment: runtime?.Env ?? [],
            workingDirectory: runtime?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 },
            user: runtime?.User.flatMap { $0.isEmpty ? nil : $0 }, uid: identity?.uid, gid: identity?.gid,
            entrypoint: runtime?.Entrypoint, command: runtime?.Cmd, created: resolved.config.created,
            architecture: resolved.config.architecture, source: reference.description,
            importedAt: ISO8601DateFormatter().string(from: Date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let files: [(String, Data?)] = [
            ("image.json", try? encoder.encode(image)),
            ("owners.json", try? encoder.encode(applier.owners)),
            ("manifest.json", Data(resolved.manifestBytes)),
            ("config.json", Data(resolved.configBytes)),
        ]
        for (name, data) in files {
            guard let data, FileManager.default.createFile(atPath: work + "/" + name, contents: data) else {
                throw ImageError(.io, "cannot write \(name) in the work directory")
            }
        }
        return image
    }
}

/// Running totals across layers, for the image-wide limits.
struct LayerTotals {
    var bytes = 0
    var entries = 0
    var uncompressed = 0
}
