import CAirlockImages
import Glibc

/// A byte range of an open file: one blob of an image source.
struct BlobRange {
    var fd: Int32
    var offset: Int
    var length: Int
}

/// Where an image's files come from: an OCI layout directory or a tar archive. Paths are
/// relative to the layout's root and never leave it.
protocol BlobSource: AnyObject {
    /// The member at `path`, or nil when there is none. The caller closes the fd.
    func open(_ path: String) throws(ImageError) -> BlobRange?
}

extension BlobSource {
    func path(of digest: Digest) -> String { "blobs/sha256/" + digest.hex }

    /// A small JSON document read whole (capped), verified against `descriptor` when given.
    func document(_ path: String, expected descriptor: Descriptor?, limits: ImageLimits) throws(ImageError) -> [UInt8] {
        guard let range = try open(path) else {
            throw ImageError(.invalid, "the image has no \(path)")
        }
        defer { close(range.fd) }
        guard range.length <= limits[.documentBytes] else {
            throw limits.exceeded(.documentBytes, "\(path) (\(range.length) bytes)")
        }
        if let descriptor, descriptor.size != range.length {
            throw ImageError(.invalid, "\(path) is \(range.length) bytes, its descriptor says \(descriptor.size)")
        }
        var bytes = [UInt8](repeating: 0, count: range.length)
        let source = FileSource(fd: range.fd, offset: range.offset, length: range.length)
        var filled = 0
        while filled < bytes.count {
            let count = try bytes.read(filled..<bytes.count, from: source)
            guard count > 0 else { throw ImageError(.invalid, "\(path) ended early") }
            filled += count
        }
        if let descriptor {
            let actual = ContentHash.digest(of: bytes)
            guard actual == descriptor.digest else {
                throw ImageError(.invalid, "digest mismatch for \(path): expected \(descriptor.digest), got \(actual)")
            }
        }
        return bytes
    }
}

/// An OCI image layout directory on disk.
final class DirectoryBlobSource: BlobSource {
    let rootFD: Int32

    init(directory: String) throws(ImageError) {
        rootFD = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else {
            throw ImageError(.reference, "cannot open image layout \(directory): \(String(cString: strerror(errno)))",
                             fix: "oci:DIR names a directory holding oci-layout, index.json and blobs/")
        }
    }

    deinit { close(rootFD) }

    func open(_ path: String) throws(ImageError) -> BlobRange? {
        let fd = airlock_img_open_strict(rootFD, path, O_RDONLY, 0)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw ImageError(.invalid, "cannot open \(path) in the layout: \(String(cString: strerror(errno))) (symlinks are not followed)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ImageError(.invalid, "\(path) in the layout is not a regular file")
        }
        return BlobRange(fd: fd, offset: 0, length: Int(info.st_size))
    }
}
