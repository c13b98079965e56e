import CAirlockImages
import Glibc

/// Directory resolution and removal, all relative to the root fd and never through a symlink.
extension LayerApplier {
    /// The parent directory of the entries being applied; cached, owned by the applier.
    func openParent(_ path: TreePath, create: Bool) throws(ImageError) -> Int32 {
        if let cached = cachedParentFD(for: path) { return cached }
        let fd = try openDirectory(path, create: create)
        setCache(path, fd)
        return fd
    }

    /// A new fd for `path` (the caller closes it). A missing directory is created when
    /// `create`; a symlink or a non-directory anywhere on the way is refused.
    func openDirectory(_ path: TreePath, create: Bool) throws(ImageError) -> Int32 {
        let direct = airlock_img_open_strict(rootFD, path.relative, O_RDONLY | O_DIRECTORY, 0)
        if direct >= 0 { return direct }
        let firstError = errno
        guard firstError == ENOENT, create else { throw Self.walkError(path, firstError) }
        // Walk and create one component at a time, each opened with O_NOFOLLOW.
        var current = dup(rootFD)
        guard current >= 0 else { throw ImageError.io("cannot open the image root", errno) }
        var walked = TreePath(components: [])
        for component in path.components {
            walked = walked.appending(component)
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT {
                if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
                    let error = errno
                    close(current)
                    throw ImageError.io("cannot create directory \(walked)", error)
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let error = errno
            close(current)
            guard next >= 0 else { throw Self.walkError(walked, error) }
            current = next
        }
        return current
    }

    static func walkError(_ path: TreePath, _ error: Int32) -> ImageError {
        switch error {
        case ELOOP, ENOTDIR, EXDEV:
            return ImageError(.invalid, "an entry goes through \(path), which is a symlink or not a directory; Airlock never follows symlinks while unpacking",
                              fix: "the layer is malformed or hostile")
        default:
            return ImageError.io("cannot open directory \(path)", error)
        }
    }

    /// Makes room for a new entry: a directory stays when a directory comes again,
    /// anything else is removed first (files are recreated, never written in place).
    func clear(_ name: String, in parent: Int32, path: TreePath, keepDirectory: Bool) throws(ImageError) {
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        if isDirectory && keepDirectory { return }
        // The cache holds `parent` itself, never something inside `path`: it stays valid.
        try removeTree(name, in: parent, path: path)
    }

    func removeTree(_ name: String, in parent: Int32, path: TreePath) throws(ImageError) {
        if unlinkat(parent, name, 0) == 0 || errno == ENOENT { return }
        guard errno == EISDIR || errno == EPERM else { throw ImageError.io("cannot remove \(path)", errno) }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError.io("cannot open \(path) to remove it", errno) }
        defer { close(fd) }
        for child in try Self.names(in: fd, path: path) {
            try removeTree(child, in: fd, path: path.appending(child))
        }
        guard unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT else {
            throw ImageError.io("cannot remove directory \(path)", errno)
        }
    }

    static func names(in fd: Int32, path: TreePath) throws(ImageError) -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let directory = fdopendir(copy) else {
            throw ImageError.io("cannot list \(path)", errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
