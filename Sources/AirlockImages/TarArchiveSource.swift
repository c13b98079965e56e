import Glibc

/// A `docker save` / `podman save` tar read in place: one pass over the headers records
/// where each member's data lies, and blobs are then read as byte ranges of the file.
/// Symlinked members (legacy archives link repeated layers) resolve lexically inside
/// the archive, a few hops at most.
final class TarArchiveSource: BlobSource {
    private let fd: Int32
    private var files: [TreePath: (offset: Int, length: Int)] = [:]
    private var links: [TreePath: String] = [:]

    init(file: String, limits: ImageLimits) throws(ImageError) {
        fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ImageError(.reference, "cannot open archive \(file): \(String(cString: strerror(errno)))",
                             fix: "docker-archive:FILE names a file written by `docker save` or `podman save`")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ImageError(.reference, "\(file) is not a regular file")
        }
        do {
            try scan(size: Int(info.st_size), limits: limits)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    private func scan(size: Int, limits: ImageLimits) throws(ImageError) {
        var offset = 0
        var header = [UInt8](repeating: 0, count: 512)
        var longName: String?
        var paxPath: String?
        var count = 0
        while offset + 512 <= size {
            guard pread(fd, &header, 512, off_t(offset)) == 512 else {
                throw ImageError.io("cannot read the archive", errno)
            }
            if header.allSatisfy({ $0 == 0 }) { return }
            try TarStream.verifyChecksum(header)
            let length = try TarStream.number(header, 124, 12, "size")
            let dataOffset = offset + 512
            guard dataOffset + length <= size else {
                throw ImageError(.invalid, "the archive is truncated (a member runs past its end)")
            }
            offset = dataOffset + length + TarStream.padding(length)
            count += 1
            guard count <= limits[.imageEntries] else { throw limits.exceeded(.imageEntries, "the archive") }
            let type = header[156]
            if type == UInt8(ascii: "L") || type == UInt8(ascii: "x") {
                guard length <= limits[.headerBytes] else {
                    throw limits.exceeded(.headerBytes, "an extended tar header of \(length) bytes")
                }
                var data = [UInt8](repeating: 0, count: length)
                guard pread(fd, &data, length, off_t(dataOffset)) == length else {
                    throw ImageError.io("cannot read the archive", errno)
                }
                if type == UInt8(ascii: "L") {
                    longName = try TarStream.text(data.prefix { $0 != 0 }, "a GNU long name")
                } else {
                    paxPath = try TarStream.paxRecords(data)["path"] ?? paxPath
                }
                continue
            }
            let name: String
            if let given = longName ?? paxPath { name = given } else { name = try TarStream.headerName(header) }
            longName = nil
            paxPath = nil
            guard let path = try? TreePath(tarName: name), !path.isRoot else { continue }
            switch TarStream.kind(type) {
            case .file: files[path] = (dataOffset, length)
            case .symlink: links[path] = try TarStream.text(TarStream.field(header, 157, 100), "a link name")
            default: continue
            }
        }
    }

    func open(_ raw: String) throws(ImageError) -> BlobRange? {
        var path = try TreePath(tarName: raw)
        for _ in 0..<8 {
            if let file = files[path] {
                let copy = dup(fd)
                guard copy >= 0 else { throw ImageError.io("cannot read the archive", errno) }
                return BlobRange(fd: copy, offset: file.offset, length: file.length)
            }
            guard let target = links[path] else { return nil }
            let base = target.hasPrefix("/") ? "" : path.parent.relative + "/"
            path = try TreePath(tarName: base + target)
        }
        throw ImageError(.invalid, "\(raw) in the archive is a chain of symlinks")
    }
}
