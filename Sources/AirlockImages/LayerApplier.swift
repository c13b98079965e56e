import CAirlockImages
import Glibc

/// Applies layer entries to a root file system that only this import can see, through a
/// directory fd: every parent is opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS),
/// so neither `..`, an absolute symlink nor a symlink swapped in by an earlier entry can
/// lead a write outside; every file is unlinked and created afresh (O_EXCL|O_NOFOLLOW),
/// never opened for writing in place.
final class LayerApplier {
    let rootFD: Int32
    /// Original owners and modes the unpacking uid does not apply (path → record).
    private(set) var owners: [String: OwnerRecord] = [:]
    /// Paths this layer created: an opaque directory hides only what lower layers made.
    private var createdThisLayer: Set<TreePath> = []
    private var opaqueThisLayer: [TreePath] = []
    private var cachedParent: (path: TreePath, fd: Int32)?

    func cachedParentFD(for path: TreePath) -> Int32? {
        cachedParent.flatMap { $0.path == path ? $0.fd : nil }
    }

    func setCache(_ path: TreePath, _ fd: Int32) {
        dropCache()
        cachedParent = (path, fd)
    }

    func dropCache() {
        if let cachedParent { close(cachedParent.fd) }
        cachedParent = nil
    }

    struct OwnerRecord: Codable, Sendable, Hashable {
        var uid: Int
        var gid: Int
        var mode: UInt32
    }

    init(rootFD: Int32) {
        self.rootFD = rootFD
    }

    deinit { dropCache() }

    func beginLayer() {
        createdThisLayer = []
        opaqueThisLayer = []
    }

    /// Opaque directories are applied once the whole layer has been read: they hide what
    /// lower layers put there, whatever the order of the siblings in the tar.
    func endLayer() throws(ImageError) {
        for directory in opaqueThisLayer {
            try hideLower(in: directory)
        }
        dropCache()
    }

    func apply(_ entry: TarEntry, from stream: TarStream) throws(ImageError) {
        let path = try TreePath(tarName: entry.path)
        if path.isRoot {
            guard entry.kind == .directory else {
                throw ImageError(.invalid, "entry '\(Digest.printable(entry.path))' would replace the image root with a non-directory")
            }
            return
        }
        let name = path.name
        if name.hasPrefix(".wh.") {
            try whiteout(path, entry: entry)
            return
        }
        switch entry.kind {
        case .characterDevice, .blockDevice:
            // Root file system tarballs (debootstrap, mmdebstrap) ship /dev/console and friends:
            // skipped, since the sandbox mounts its own minimal /dev. Anywhere else a device
            // node has no business in an image.
            if path.components.first == "dev" { return }
            throw ImageError(.invalid, "entry \(path) is a device node; Airlock does not create device nodes in images",
                             fix: "rebuild the image without device nodes (the sandbox gets its own minimal /dev)")
        case .fifo, .other:
            return
        default:
            break
        }
        let parent = try openParent(path.parent, create: true)
        try clear(name, in: parent, path: path, keepDirectory: entry.kind == .directory)
        switch entry.kind {
        case .file:
            try writeFile(name, in: parent, path: path, entry: entry, stream: stream)
        case .directory:
            if mkdirat(parent, name, 0o700) != 0 && errno != EEXIST {
                throw ImageError.io("cannot create directory \(path)", errno)
            }
            // Owner rwx while unpacking, so later entries can go in; the mode is recorded.
            _ = fchmodat(parent, name, mode_t(Self.safeMode(entry.mode) | 0o700), 0)
        case .symlink:
            guard !entry.linkName.isEmpty, symlinkat(entry.linkName, parent, name) == 0 else {
                throw ImageError.io("cannot create symlink \(path)", errno == 0 ? EINVAL : errno)
            }
        case .hardLink:
            try link(entry, at: path, parent: parent)
        default:
            return
        }
        createdThisLayer.insert(path)
        record(path, entry)
    }

    private func record(_ path: TreePath, _ entry: TarEntry) {
        let mode = entry.mode & 0o7777
        if entry.uid != 0 || entry.gid != 0 || mode & 0o6000 != 0 {
            owners[path.description] = OwnerRecord(uid: entry.uid, gid: entry.gid, mode: mode)
        } else if !owners.isEmpty {
            owners[path.description] = nil
        }
    }

    /// Permission bits without set-uid and set-gid (sticky kept).
    static func safeMode(_ mode: UInt32) -> UInt32 { mode & 0o1777 }

    private func writeFile(_ name: String, in parent: Int32, path: TreePath, entry: TarEntry,
                           stream: TarStream) throws(ImageError) {
        let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ImageError.io("cannot create \(path)", errno) }
        defer { close(fd) }
        try stream.readData { slice throws(ImageError) in
            var offset = 0
            while offset < slice.count {
                let written = write(fd, slice.baseAddress?.advanced(by: offset), slice.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw ImageError.io("cannot write \(path)", errno) }
                offset += written
            }
        }
        _ = fchmod(fd, mode_t(Self.safeMode(entry.mode)))
    }

    private func link(_ entry: TarEntry, at path: TreePath, parent: Int32) throws(ImageError) {
        let target = try TreePath(tarName: entry.linkName)
        guard !target.isRoot else { throw ImageError(.invalid, "hard link \(path) points at the image root") }
        let targetParent: Int32
        do {
            targetParent = try openDirectory(target.parent, create: false)
        } catch {
            throw ImageError(.invalid, "hard link \(path) points at \(target), which is not in the image (\(error.message))")
        }
        defer { close(targetParent) }
        var info = stat()
        guard fstatat(targetParent, target.name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw ImageError(.invalid, "hard link \(path) points at \(target), which is not in the image")
        }
        guard (info.st_mode & S_IFMT) != S_IFDIR else {
            throw ImageError(.invalid, "hard link \(path) points at directory \(target)")
        }
        // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
        guard linkat(targetParent, target.name, parent, path.name, 0) == 0 else {
            throw ImageError.io("cannot create hard link \(path) to \(target)", errno)
        }
    }

    private func whiteout(_ path: TreePath, entry: TarEntry) throws(ImageError) {
        let name = path.name
        if name == ".wh..wh..opq" {
            opaqueThisLayer.append(path.parent)
            return
        }
        let hidden = String(name.dropFirst(4))
        guard !hidden.isEmpty, hidden != ".", hidden != ".." else {
            throw ImageError(.invalid, "whiteout \(path) names nothing")
        }
        let target = path.parent.appending(hidden)
        guard !createdThisLayer.contains(target) else { return }
        guard let parent = try? openDirectory(path.parent, create: false) else { return }
        defer { close(parent) }
        dropCache()
        try removeTree(hidden, in: parent, path: target)
        owners[target.description] = nil
        dropCache()
    }

    /// Removes what lower layers left in `directory`, keeping what this layer created.
    private func hideLower(in directory: TreePath) throws(ImageError) {
        guard let fd = try? openDirectory(directory, create: false) else { return }
        defer { close(fd) }
        for name in try Self.names(in: fd, path: directory) {
            let child = directory.appending(name)
            if createdThisLayer.contains(child) {
                var info = stat()
                if fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                    try hideLower(in: child)
                }
            } else {
                try removeTree(name, in: fd, path: child)
                owners[child.description] = nil
            }
        }
        dropCache()
    }
}
