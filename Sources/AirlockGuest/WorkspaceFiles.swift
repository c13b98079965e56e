import AirlockProtocol
import CAirlockSys
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// File operations confined to the workspace.
///
/// Every path is resolved by the kernel with openat2(RESOLVE_BENEATH) against a descriptor
/// of the workspace, so `..`, absolute paths and symlinks that lead out fail atomically,
/// even when a symlink is swapped in between a check and a use. `..` is also refused by
/// name first, for a clearer message.
struct WorkspaceFiles {
    let rootFD: Int32

    struct Failure: Error {
        var code: String
        var message: String
    }

    init(root: String) throws(Failure) {
        let fd = Glibc.open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(code: "io", message: "cannot open workspace \(root): \(Self.reason())") }
        rootFD = fd
    }

    func read(_ path: String, maxBytes: Int?) throws(Failure) -> FileContent {
        // Non-blocking open: a FIFO nobody writes to must not hang the call (it is refused
        // just below); regular files ignore the flag, which is cleared anyway.
        let fd = try open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY)
        defer { close(fd) }
        var info = Glibc.stat()
        guard fstat(fd, &info) == 0 else { throw Self.failure("io", path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw Failure(code: "not_a_file", message: "\(path) is not a regular file")
        }
        _ = fcntl(fd, F_SETFL, O_RDONLY)
        let limit = min(maxBytes ?? Int.max, ProtocolVersion.maxFrameBytes / 2)
        var bytes = [UInt8](repeating: 0, count: min(limit, Int(info.st_size)))
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress.map { $0 + total }, $0.count - total) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            total += count
        }
        return FileContent(content: Data(bytes[0..<total]), size: Int(info.st_size))
    }

    /// Writes through a temporary file and rename, so a reader never sees half a file and
    /// a symlink at the destination is replaced, never followed.
    func write(_ path: String, _ content: Data, createParents: Bool) throws(Failure) {
        let (parent, name) = try splitParent(path)
        if createParents { try makeDirectories(parent) }
        let dirFD = try open(parent.isEmpty ? "." : parent, O_DIRECTORY | O_RDONLY)
        defer { close(dirFD) }
        var mode: mode_t = 0o644
        var existing = Glibc.stat()
        if fstatat(dirFD, name, &existing, AT_SYMLINK_NOFOLLOW) == 0 {
            if (existing.st_mode & S_IFMT) == S_IFDIR {
                throw Failure(code: "is_directory", message: "\(path) is a directory")
            }
            if (existing.st_mode & S_IFMT) == S_IFREG { mode = existing.st_mode & 0o7777 }
        }
        let temporary = ".\(name).airlock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = openat(dirFD, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw Self.failure("io", path) }
        var offset = 0
        let ok = content.withUnsafeBytes { bytes -> Bool in
            while offset < bytes.count {
                let count = Glibc.write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return false }
                offset += count
            }
            return true
        }
        let writeError = errno
        close(fd)
        guard ok, renameat(dirFD, temporary, dirFD, name) == 0 else {
            unlinkat(dirFD, temporary, 0)
            errno = ok ? errno : writeError
            throw Self.failure("io", path)
        }
    }

    func edit(_ path: String, old: String, new: String) throws(Failure) {
        guard !old.isEmpty else { throw Failure(code: "bad_request", message: "old text is empty") }
        let file = try read(path, maxBytes: nil)
        guard file.content.count == file.size else {
            throw Failure(code: "too_large", message: "\(path) is too large to edit")
        }
        let text = String(decoding: file.content, as: UTF8.self)
        let matches = text.ranges(of: old)
        guard let first = matches.first else {
            throw Failure(code: "no_match", message: "the old text was not found in \(path)")
        }
        guard matches.count == 1 else {
            throw Failure(code: "ambiguous_match",
                          message: "the old text occurs \(matches.count) times in \(path); give more context")
        }
        var edited = text
        edited.replaceSubrange(first, with: new)
        try write(path, Data(edited.utf8), createParents: false)
    }

    func list(_ path: String) throws(Failure) -> DirectoryListing {
        let fd = try open(path.isEmpty ? "." : path, O_DIRECTORY | O_RDONLY)
        guard let directory = fdopendir(fd) else {
            close(fd)
            throw Self.failure("io", path)
        }
        defer { closedir(directory) }
        var entries: [FileStat] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var info = Glibc.stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            entries.append(Self.describe(name, info))
            if entries.count >= 10_000 { break }
        }
        return DirectoryListing(entries: entries.sorted { $0.name < $1.name })
    }

    func status(_ path: String) throws(Failure) -> FileStat {
        if try checked(path) == "." {
            var info = Glibc.stat()
            guard fstat(rootFD, &info) == 0 else { throw Self.failure("io", path) }
            return Self.describe(".", info)
        }
        let (parent, name) = try splitParent(path)
        let dirFD = try open(parent.isEmpty ? "." : parent, O_DIRECTORY | O_RDONLY)
        defer { close(dirFD) }
        var info = Glibc.stat()
        guard fstatat(dirFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw Self.failure("io", path) }
        return Self.describe(name, info)
    }

    // MARK: - Resolution

    private func open(_ path: String, _ flags: Int32, mode: UInt32 = 0) throws(Failure) -> Int32 {
        let relative = try checked(path)
        let fd = airlock_open_beneath(rootFD, relative, flags, mode)
        guard fd >= 0 else { throw Self.failure(errno == EXDEV || errno == ELOOP ? "path_escape" : "io", path) }
        return fd
    }

    /// Strips a leading `/workspace/` and refuses `..` and empty components.
    private func checked(_ path: String) throws(Failure) -> String {
        var relative = path
        for prefix in ["/workspace/", "./"] where relative.hasPrefix(prefix) {
            relative.removeFirst(prefix.count)
        }
        if relative == "/workspace" || relative.isEmpty { relative = "." }
        if relative.hasPrefix("/") {
            throw Failure(code: "path_escape", message: "\(path): absolute paths outside /workspace are refused")
        }
        if relative.split(separator: "/").contains("..") {
            throw Failure(code: "path_escape", message: "\(path): '..' is refused; paths stay inside /workspace")
        }
        if relative.utf8.contains(0) {
            throw Failure(code: "bad_request", message: "path contains a NUL byte")
        }
        return relative
    }

    private func splitParent(_ path: String) throws(Failure) -> (String, String) {
        let relative = try checked(path)
        let parts = relative.split(separator: "/").map(String.init)
        guard let name = parts.last, name != "." else {
            throw Failure(code: "bad_request", message: "\(path) names the workspace itself")
        }
        return (parts.dropLast().joined(separator: "/"), name)
    }

    private func makeDirectories(_ relative: String) throws(Failure) {
        var prefix = ""
        for part in relative.split(separator: "/") where part != "." {
            let parentFD = try open(prefix.isEmpty ? "." : prefix, O_DIRECTORY | O_RDONLY)
            let made = mkdirat(parentFD, String(part), 0o755)
            let error = errno
            close(parentFD)
            if made != 0 && error != EEXIST {
                errno = error
                throw Self.failure("io", prefix + "/" + part)
            }
            prefix = prefix.isEmpty ? String(part) : prefix + "/" + part
        }
    }

    private static func describe(_ name: String, _ info: Glibc.stat) -> FileStat {
        let kind: FileStat.Kind = switch info.st_mode & S_IFMT {
        case S_IFREG: .file
        case S_IFDIR: .directory
        case S_IFLNK: .symlink
        default: .other
        }
        let modified = Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
        return FileStat(name: name, kind: kind, size: Int(info.st_size), mode: info.st_mode & 0o7777,
                        modifiedMs: modified)
    }

    private static func reason() -> String { String(cString: strerror(errno)) }

    private static func failure(_ code: String, _ path: String) -> Failure {
        let error = errno
        if error == ENOENT { return Failure(code: "not_found", message: "\(path): no such file or directory") }
        if error == EXDEV || error == ELOOP {
            return Failure(code: "path_escape", message: "\(path): resolves outside /workspace (refused)")
        }
        return Failure(code: code, message: "\(path): \(String(cString: strerror(error)))")
    }
}
