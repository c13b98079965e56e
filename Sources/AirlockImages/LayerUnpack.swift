import Crypto
import Glibc

/// One layer: blob copied privately and verified, then decompressed, diff_id-checked and
/// applied entry by entry within the layer and image limits.
struct LayerUnpack {
    let limits: ImageLimits
    let number: Int
    let descriptor: Descriptor
    let diffID: Digest
    /// Legacy docker archives: the only digest is of the uncompressed tar.
    let digestIsDiffID: Bool

    func run(source: any BlobSource, path: String, work: String, applier: LayerApplier,
             totals: inout LayerTotals) throws(ImageError) {
        guard let range = try source.open(path) else {
            throw ImageError(.invalid, "layer \(number) (\(descriptor.digest)) is missing from the image")
        }
        defer { close(range.fd) }
        guard range.length == descriptor.size else {
            throw ImageError(.invalid, "layer \(number) is \(range.length) bytes, its descriptor says \(descriptor.size)")
        }
        guard range.length <= limits[.layerCompressed] else {
            throw limits.exceeded(.layerCompressed, "layer \(number) (\(range.length) bytes)")
        }
        // Copy into the private work dir while hashing: the bytes parsed below are the
        // bytes verified here, whatever happens to the source file meanwhile.
        let copyPath = work + "/layer.blob"
        let copy = open(copyPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard copy >= 0 else { throw ImageError.io("cannot create a blob copy", errno) }
        defer { close(copy); unlink(copyPath) }
        let (blobDigest, magic) = try copyHashing(range, to: copy)
        let isGzip = magic.starts(with: [0x1f, 0x8b])
        if magic == [0x28, 0xb5, 0x2f, 0xfd] {
            throw ImageError(.invalid, "layer \(number) is zstd-compressed, which Airlock does not unpack yet",
                             fix: "re-save the image with gzip layers (e.g. skopeo copy --dest-compress-format gzip)")
        }
        if !digestIsDiffID || !isGzip, blobDigest != descriptor.digest {
            throw ImageError(.invalid, "digest mismatch for layer \(number): expected \(descriptor.digest), got \(blobDigest)",
                             fix: "the image is corrupt or was tampered with")
        }

        let file = FileSource(fd: copy, offset: 0, length: range.length)
        let plain: any ByteSource = isGzip ? try GunzipSource(file) : file
        let layerLimit = min(limits[.layerUncompressed], limits[.imageUncompressed] - totals.uncompressed)
        let limits = self.limits
        let number = self.number
        let meter = MeteredSource(plain, limit: layerLimit) {
            limits[.layerUncompressed] <= layerLimit
                ? limits.exceeded(.layerUncompressed, "layer \(number) uncompressed")
                : limits.exceeded(.imageUncompressed, "the image uncompressed")
        }
        let tar = TarStream(source: meter, limits: limits)
        applier.beginLayer()
        var entries = 0
        while let entry = try tar.next() {
            entries += 1
            guard entries <= limits[.layerEntries] else { throw limits.exceeded(.layerEntries, "layer \(number)") }
            guard totals.entries + entries <= limits[.imageEntries] else { throw limits.exceeded(.imageEntries, "the image") }
            try applier.apply(entry, from: tar)
            if entry.kind == .file { totals.bytes += entry.size }
        }
        try meter.drain()
        try applier.endLayer()
        let actual = meter.digest()
        guard actual == diffID else {
            throw ImageError(.invalid, "diff_id mismatch for layer \(number): the config says \(diffID), the layer is \(actual)",
                             fix: "the image is corrupt or was tampered with")
        }
        totals.entries += entries
        totals.uncompressed += meter.count
    }

    /// The blob's digest and its first four bytes (the compression's magic number).
    private func copyHashing(_ range: BlobRange, to fd: Int32) throws(ImageError) -> (Digest, [UInt8]) {
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let input = FileSource(fd: range.fd, offset: range.offset, length: range.length)
        var first: [UInt8] = []
        while true {
            let count = try buffer.read(from: input)
            if count == 0 { break }
            if first.count < 4 { first += buffer.prefix(min(count, 4 - first.count)) }
            try buffer.withBytes(0..<count) { slice throws(ImageError) in
                hasher.update(bufferPointer: slice)
                var offset = 0
                while offset < count {
                    let written = write(fd, slice.baseAddress?.advanced(by: offset), count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { throw ImageError.io("cannot write a blob copy", errno) }
                    offset += written
                }
            }
        }
        let digest = Digest(hexDigits: ContentHash.hex(hasher.finalize()))
        return (digest, first)
    }
}
